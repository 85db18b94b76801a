"""`lead generate "TEXT"`: text → motion files (features, joints, video, BVH) and a manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lead import defaults
from lead.commands.options import add_sampling_arguments, check_sampling_arguments, check_seed
from lead.errors import LeadError

EPILOG = """examples:
  lead generate "a person walks forward happily"
  lead generate "someone waves with the right hand" --seconds 4 --num-samples 3 --seed 7 --out out/wave
  lead generate "a person walks forward" --no-projector          # the MLD baseline (no realignment)
  lead generate --prompts prompts.txt --out out/batch             # lines: text#frames
  lead generate "a person <elderly> walks" --concept elderly.safetensors
  lead generate "a person runs forward" --sampler dpm++ --steps 10  # a faster sampler, fewer steps

Per sample it writes NAME.npy (263-d features), NAME_joints.npy (T,22,3 metres), NAME.mp4 (or .gif)
and NAME.bvh, plus one samples.json manifest with every setting."""


MAX_SAMPLES = 1000  # per prompt: larger runs belong in a --prompts file or several runs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="generate motions from text (the main job)",
        description="Generate 3D human motion from a text description with LEAD (or MLD with --no-projector).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("text", nargs="?", help="the description, e.g. 'a person walks forward happily'")
    parser.add_argument("--prompts", help="a file with one 'text#frames' per line (frames optional)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=float, help="motion length in seconds (default 5)")
    length.add_argument("--frames", type=int, help="motion length in frames at 20 fps")
    parser.add_argument("--num-samples", type=int, default=1, help="samples per prompt (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; sample i uses seed+i (default 0)")
    add_sampling_arguments(parser)
    parser.add_argument("--no-projector", action="store_true", help="skip LEAD's realignment: the MLD baseline")
    parser.add_argument("--smoothing", type=int, default=None, metavar="TAPS",
                        help="binomial low-pass of the generated frames (odd taps; 0 = off; default: the model's, "
                             "3 for the shipped model)")
    parser.add_argument("--model", help="model folder (default: the small model shipped with lead)")
    parser.add_argument("--concept", action="append", default=[], help="a learned word (lead invert); repeatable")
    parser.add_argument("--out", default="out", help="output folder (default ./out)")
    parser.add_argument("--format", choices=["mp4", "gif", "none"], default="mp4", help="video format (default mp4)")
    parser.add_argument("--no-bvh", action="store_true", help="don't write BVH files")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the samples of an earlier run in --out (default: refuse)")
    parser.set_defaults(func=run)


def read_prompts(path: str, default_frames: int) -> list[tuple[str, int]]:
    file = Path(path)
    if not file.exists():
        raise LeadError(f"prompts file {file} not found")
    prompts = []
    from lead.io import read_text, text_lines

    for number, line in enumerate(text_lines(read_text(file, "prompts file")), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        text, _, frames = line.rpartition("#") if "#" in line else (line, "", "")
        try:
            prompts.append((text.strip(), int(frames) if frames.strip() else default_frames))
        except ValueError as error:
            raise LeadError(f"{file}:{number}: expected 'text#frames', got {line!r}") from error
    if not prompts:
        raise LeadError(f"{file} holds no prompts (one 'text#frames' per line)")
    return prompts


def run(args: argparse.Namespace) -> int:
    import math

    fps = defaults.FPS
    if args.seconds is not None and (not math.isfinite(args.seconds) or args.seconds <= 0):
        raise LeadError(f"--seconds must be a positive number, got {args.seconds}")
    if args.seconds is not None and args.seconds > 3600:  # before seconds * fps, which overflows for 1e308
        raise LeadError(f"--seconds {args.seconds} is far past what any model generates (the shipped one: 9.8 s)")
    if args.seconds is not None and round(args.seconds * fps) < 1:
        raise LeadError(f"--seconds {args.seconds} is under one frame; the shortest motion is {1 / fps:.2f} s")
    if args.num_samples < 1 or args.num_samples > MAX_SAMPLES:
        raise LeadError(f"--num-samples must be in 1..{MAX_SAMPLES}, got {args.num_samples}")
    default_frames = args.frames if args.frames is not None else round((args.seconds or defaults.SECONDS) * fps)
    if args.prompts and args.text is not None:
        raise LeadError("give either a text or --prompts FILE, not both")
    if args.prompts:
        prompts = read_prompts(args.prompts, default_frames)
    elif args.text is not None:
        prompts = [(args.text.strip(), default_frames)]
    else:
        raise LeadError('no text given: lead generate "a person walks forward" (or --prompts FILE)')
    from lead.text_check import clean_text

    prompts = [(clean_text(text), frames) for text, frames in prompts]
    for _text, frames in prompts:
        if frames < 1:
            raise LeadError(f"length {frames} frames is out of range: give a positive --frames or --seconds")
    check_seed(args.seed, len(prompts) * args.num_samples)  # sample i uses seed + i
    device = check_sampling_arguments(args)
    for concept in args.concept:  # before the model loads: a typo costs nothing
        from lead.io import check_regular_input

        if not check_regular_input(concept, "--concept file").is_file():
            raise LeadError(f"--concept {concept}: no such file (a .safetensors written by lead invert)")
    out = Path(args.out)
    from lead.generation_io import claim_output_folder  # creates --out, removed again if the run fails empty

    with claim_output_folder(out, args.overwrite):
        return _generate(args, prompts, device, out)


def _generate(args, prompts, device, out) -> int:
    from tqdm import tqdm

    from lead.pipeline import TextToMotionPipeline

    pipeline = TextToMotionPipeline.from_pretrained(args.model).to(device)
    concepts = [pipeline.load_concept(concept) for concept in args.concept]
    texts = [p[0] for p in prompts]
    lengths = [p[1] for p in prompts]
    pipeline.check_request(texts, lengths, concepts)
    for item in pipeline.prompt_coverage(list(dict.fromkeys(texts))):  # before sampling: the user can stop here
        if item is not None and item.warning:
            print(f"lead: warning: {item.warning}", file=sys.stderr)
    all_texts = [text for text in texts for _ in range(args.num_samples)]
    all_lengths = [length for length in lengths for _ in range(args.num_samples)]
    total, batch_size = len(all_texts), defaults.BATCH_SIZE
    batches = -(-total // batch_size)
    if batches > 1:
        print(f"generating {total} motions in {batches} batches of up to {batch_size}; each batch is written "
              f"to {out}/ as it finishes", file=sys.stderr)
    from lead.generation_io import SampleWriter

    writer = SampleWriter(out, pipeline, video=args.format, bvh=not args.no_bvh)
    settings: dict = {}
    with writer, tqdm(total=args.steps * batches, desc="sampling", unit="step", leave=False) as bar:
        def progress(steps):
            for step in steps:
                yield step
                bar.update(1)

        # One batch at a time, written before the next: memory stays flat and an interrupted run keeps
        # its finished samples. The chunks are the pipeline's own batches, so the motions are the same.
        for start in range(0, total, batch_size):
            rows = slice(start, start + batch_size)
            output = pipeline(
                all_texts[rows], all_lengths[rows], num_samples=1, seed=args.seed + start,
                guidance_scale=args.guidance, num_inference_steps=args.steps, use_projector=not args.no_projector,
                progress=progress, smoothing=args.smoothing, sampler=args.sampler, concepts=concepts,
                batch_size=batch_size, foot_cleanup=args.foot_cleanup,
            )
            used = list(dict.fromkeys([*settings.get("concepts", []), *output.settings["concepts"]]))
            settings = {**output.settings, "seed": args.seed, "num_samples": args.num_samples, "concepts": used}
            writer.write(output, settings)
            bar.set_postfix(written=f"{len(writer.entries)}/{total}")
        manifest = writer.finish(settings)
    print(f"wrote {total} motion(s) to {out}/ (manifest: {manifest})")
    return 0
