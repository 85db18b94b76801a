"""`lead eval inversion`: the motion textual inversion protocols (paper Table 3 and the style test) as a
command; the protocols themselves live in `lead.evaluation.inversion_protocol` / `inversion_style`."""

from __future__ import annotations

import argparse
from pathlib import Path

from lead.errors import LeadError
from lead.evaluation.inversion_protocol import OBJECTIVE_ORDER, InversionEvalSettings, load_evaluator, run_subset

EPILOG = """examples:
  lead eval inversion --model runs/default --evaluator models/evaluator --data data/bandai-hml \\
      --num-motions 10 --out eval/mti
  lead eval inversion --model runs/no-elderly --evaluator models/evaluator --data data/bandai-hml \\
      --style-clips ID1 ID2 ID3 --heldout-clips ID4 ID5 --init-word old --out eval/mti-elderly

Without --style-clips it runs the mini-subset protocol (paper Table 3) on --data; with them, the
out-of-distribution style test (paper Fig. 6). Writes inversion_subset.{json,md} or
inversion_style.{json,md,mp4} and the learned concepts (concepts/*.safetensors) into --out."""


def register_inversion(subparsers: argparse._SubParsersAction) -> None:
    """Add `inversion` to the `lead eval` group."""
    parser = subparsers.add_parser(
        "inversion", help="motion textual inversion protocols (paper Table 3 and the style test)",
        description="Evaluate motion textual inversion: learn tokens with each objective (feat, mld, lead), "
        "generate with and without the projector, and score with a T2M evaluator.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", help="model folder (default: the model shipped with lead)")
    parser.add_argument("--evaluator", required=True, metavar="DIR", help="evaluator folder (lead train evaluator)")
    parser.add_argument("--glove", help="GloVe folder, for an evaluator trained on GloVe word vectors")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--data", help="HumanML3D-format folder (subset protocol; clip ids for the style test)")
    parser.add_argument("--split", default="test", help="split of --data for the subset (default test)")
    parser.add_argument("--num-motions", type=int, default=100, help="subset size (default 100, as the paper)")
    parser.add_argument("--min-length", type=int, default=40, help="shortest clip in frames (default 40)")
    parser.add_argument("--style-clips", nargs="+", metavar="CLIP", help="style test: clips to learn from")
    parser.add_argument("--heldout-clips", nargs="+", metavar="CLIP", help="style test: clips to compare with")
    parser.add_argument("--token", default="<style>", help="style test: the learned word (default <style>)")
    parser.add_argument("--prompt", action="append", help="style test: a prompt with {} for the word; repeatable")
    parser.add_argument("--map", default="auto", choices=("auto", "bandai", "cmu"), help="joint map for BVH clips")
    parser.add_argument("--objectives", default=",".join(OBJECTIVE_ORDER),
                        help="comma-separated objectives (default feat,mld,lead)")
    defaults = InversionEvalSettings()
    parser.add_argument("--steps", type=int, default=defaults.steps, help=f"inversion steps (default {defaults.steps})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"inversion lr (default {defaults.lr})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="inversion batch (default 4)")
    parser.add_argument("--init-word", default=defaults.init_word,
                        help=f"word the tokens start from (default {defaults.init_word!r})")
    parser.add_argument("--samples", type=int, default=defaults.samples,
                        help=f"generations per token (default {defaults.samples})")
    parser.add_argument("--sampling-steps", type=int, default=defaults.sampling_steps, help="DDIM steps (default 50)")
    parser.add_argument("--guidance", type=float, default=defaults.guidance, help="guidance scale (default 7.5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--video", choices=("mp4", "gif", "none"), default="mp4", help="style test renders")
    parser.set_defaults(func=run_inversion)


def run_inversion(args: argparse.Namespace) -> int:
    objectives = tuple(o.strip() for o in args.objectives.split(",") if o.strip())
    unknown = [o for o in objectives if o not in OBJECTIVE_ORDER]
    if unknown or not objectives:
        raise LeadError(f"--objectives {args.objectives!r}: use a comma-separated subset of feat,mld,lead")
    if args.samples < 1:
        raise LeadError(f"--samples must be at least 1, got {args.samples}")
    from lead.commands.options import check_number, check_seed
    from lead.diffusion import check_steps

    for option in ("steps", "batch_size", "num_motions", "min_length"):
        if getattr(args, option) < 1:
            raise LeadError(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    check_number("--lr", args.lr)
    check_number("--guidance", args.guidance, inclusive=True)
    check_steps("ddim", args.sampling_steps, "--sampling-steps")
    check_seed(args.seed, 10_000)
    from lead.text_check import check_characters

    texts = [("--token", args.token), ("--init-word", args.init_word)]
    for option, value in texts + [("--prompt", prompt) for prompt in args.prompt or ()]:
        check_characters(value, option)
    for prompt in args.prompt or ():
        if "{}" not in prompt:
            raise LeadError(f"--prompt {prompt!r} has no {{}} for the learned word, e.g. 'a person {{}} walks'")
    style_mode = bool(args.style_clips or args.heldout_clips)
    if not style_mode and not args.data:
        raise LeadError("give --data DIR (mini-subset protocol) or --style-clips/--heldout-clips (style test)")
    from tqdm import tqdm

    from lead.pipeline import TextToMotionPipeline

    pipeline = TextToMotionPipeline.from_pretrained(args.model)
    if "lead" in objectives and pipeline.projector is None:
        raise LeadError("this model has no projector/: the lead objective and w/ project rows need one; "
                        "pass --objectives feat,mld or train a projector")
    evaluator = load_evaluator(args.evaluator, args.glove)
    settings = InversionEvalSettings(
        objectives=objectives, steps=args.steps, lr=args.lr, batch_size=args.batch_size, init_word=args.init_word,
        samples=args.samples, sampling_steps=args.sampling_steps, guidance=args.guidance, seed=args.seed,
        extra={"evaluator": str(Path(args.evaluator).resolve())},
    )
    out = Path(args.out)
    from lead.io import check_output

    check_output(out)
    if style_mode:
        from lead.evaluation.inversion_style import resolve_clips, run_style

        skeleton = pipeline.config.skeleton
        style = resolve_clips(args.style_clips or [], args.data, skeleton, args.map)
        heldout = resolve_clips(args.heldout_clips or [], args.data, skeleton, args.map)
        total = len(objectives)
    else:
        total = len(objectives) * args.num_motions
    out.mkdir(parents=True, exist_ok=True)  # only once every input has been read
    with tqdm(total=total, desc="inversion", unit="token") as bar:
        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        if style_mode:
            run_style(pipeline, evaluator, style, heldout, out, settings, args.token, tuple(args.prompt or ()),
                      args.video, progress)
        else:
            run_subset(pipeline, evaluator, args.data, out, settings, args.split, args.num_motions,
                       args.min_length, progress)
    stem = "inversion_style" if style_mode else "inversion_subset"
    print((out / f"{stem}.md").read_text(encoding="utf-8"))
    print(f"wrote {out / stem}.json and .md")
    return 0
