"""Caption checks on every caption of a split's clips, several seeds each: a steadier reading of the
rare contents than `lead eval motion`, which generates once from each clip's first caption (the test
split has 2 backwards captions, so one seed on one caption moves its rate by 0.5).

    python scripts/caption_checks.py --data bandai-hml --split val test --contents walk-back bow \
        [--model DIR] [--seeds 4] [--guidance G]
    python scripts/caption_checks.py --texts "a person walks backward." "a sad person walks backward." \
        --frames 60 196 [--seeds 4]

For each clip whose content label (DATA/labels.json) is listed, every one of its captions is generated
at the clip's length (at least the model's shortest, 40 frames) with MLD (`--no-projector`) and LEAD
from the same latents, at the model's default settings, and `lead.evaluation.motion_quality.
semantic_checks` is applied; the real clip is checked on the same captions for reference. Prints,
per split and check, the pass rate over captions x seeds (kick lift and bow drop: the mean in metres).

With --texts, the given captions are generated at each --frames length instead (LEAD path) and the
pelvis travel along the starting facing direction is printed per seed (negative = backwards), with each
caption's text-embedding cosine to the first one (what the denoiser is conditioned on).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from lead.data.humanml3d import motion_length, read_captions, read_split
from lead.evaluation import motion_quality as mq
from lead.motion.features import features_to_joints
from lead.pipeline import DEFAULT, TextToMotionPipeline


def cases(data: Path, split: str, contents: set[str], min_frames: int, max_frames: int):
    """(clip, caption, length) for every caption of the split's clips with one of `contents`."""
    labels = json.loads((data / "labels.json").read_text())
    out = []
    for clip in read_split(data, split):
        if labels.get(clip, {}).get("content") not in contents:
            continue
        frames = motion_length(data / "new_joint_vecs" / f"{clip}.npy")
        length = int(min(max(frames, min_frames), max_frames))
        for caption in read_captions(data / "texts" / f"{clip}.txt"):
            out.append((clip, caption.text, length))
    return out


def summarise(rows: list[dict[str, float]]) -> dict[str, str]:
    keys = sorted({k for row in rows for k in row})
    out = {}
    for key in keys:
        values = [row[key] for row in rows if key in row]
        if key in ("kick_lift", "bow_drop"):  # their pass rates are the kick_30cm / bow_20cm checks
            out[key] = f"{np.mean(values):.3f} m (mean of {len(values)})"
        elif key == "backwards_speed":  # its pass rate is the backwards_walk check
            out[key] = f"{np.mean(values):.3f} m/s (mean of {len(values)})"
        else:
            out[key] = f"{np.mean(values):.2f} of {len(values)}"
    return out


def travel_table(args: argparse.Namespace) -> None:
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    print(f"model {args.model or 'shipped'}, LEAD, guidance {args.guidance or 'model default'}, foot cleanup "
          f"{'model default' if args.foot_cleanup is None else args.foot_cleanup}; travel m along the "
          f"starting facing direction, seeds 0-{args.seeds - 1}\n")
    print("| caption | frames | cosine to the first | travel per seed m |\n|---|---|---|---|")
    with torch.no_grad():
        condition = pipe.encode_prompt(args.texts).condition.float().reshape(len(args.texts), -1)
        pooled = torch.nn.functional.normalize(condition, dim=-1)
        cosine = (pooled @ pooled[0]).tolist()
        for frames in args.frames:
            for index, text in enumerate(args.texts):
                _, decoded, _ = next(pipe.generate_batches(
                    [text] * args.seeds, [frames] * args.seeds, list(range(args.seeds)), {"lead": DEFAULT},
                    batch_size=args.seeds, guidance_scale=args.guidance,
                    foot_cleanup=args.foot_cleanup))
                _, positions = pipe.to_motion(decoded["lead"], [frames] * args.seeds)
                values = " ".join(f"{mq.travel_along_facing(j):+.2f}" for j in positions)
                print(f"| {text} | {frames} | {cosine[index]:.2f} | {values} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="HumanML3D-format folder with labels.json (Bandai-Namco)")
    parser.add_argument("--texts", nargs="+", default=None, help="captions to generate instead of a split's")
    parser.add_argument("--frames", type=int, nargs="+", default=[196], help="lengths for --texts (196)")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--split", nargs="+", default=["val", "test"])
    parser.add_argument("--contents", nargs="+", default=["walk-back"], help="content labels (labels.json)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per caption (default 4)")
    parser.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the model's)")
    parser.add_argument("--foot-cleanup", type=float, default=None, help="foot cleanup strength (default: the model's)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    if args.texts:
        return travel_table(args)
    if args.data is None:
        parser.error("give --data (a split's captions) or --texts")
    data = Path(args.data)
    if not (data / "labels.json").is_file():
        parser.error(f"{data / 'labels.json'} not found: this needs a folder from `lead data prepare bandai-namco`")
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    limits = (pipe.config.min_frames, pipe.config.max_frames)
    print(f"model {args.model or 'shipped'}, seeds {args.seeds}, guidance {args.guidance or 'model default'}, foot "
          f"cleanup {'model default' if args.foot_cleanup is None else args.foot_cleanup}\n")
    print("| split | set | check | result |\n|---|---|---|---|")
    for split in args.split:
        todo = cases(data, split, set(args.contents), *limits)
        if not todo:
            print(f"| {split} | - | no clip with contents {args.contents} | - |")
            continue
        results: dict[str, list[dict[str, float]]] = {"real": [], "mld": [], "lead": []}
        real = {}  # each clip read once, checked on each of its captions
        for clip in dict.fromkeys(c[0] for c in todo):
            features = np.load(data / "new_joint_vecs" / f"{clip}.npy")
            real[clip] = np.asarray(features_to_joints(features, pipe.config.skeleton))
        results["real"] = [mq.semantic_checks(real[clip], text) for clip, text, _ in todo]
        with torch.no_grad():
            for seed in range(args.seeds):
                for start in range(0, len(todo), args.batch_size):
                    chunk = todo[start: start + args.batch_size]
                    texts, lengths = [c[1] for c in chunk], [c[2] for c in chunk]
                    seeds = [seed * 100_000 + start + i for i in range(len(chunk))]
                    _, decoded, _ = next(pipe.generate_batches(
                        texts, lengths, seeds, {"mld": None, "lead": DEFAULT}, batch_size=len(chunk),
                        guidance_scale=args.guidance, foot_cleanup=args.foot_cleanup))
                    for path in ("mld", "lead"):
                        _, positions = pipe.to_motion(decoded[path], lengths)
                        results[path] += [mq.semantic_checks(j, t) for j, t in zip(positions, texts)]
        for name, rows in results.items():
            for key, value in summarise(rows).items():
                print(f"| {split} ({len(todo)} captions) | {name} | {key} | {value} |")


if __name__ == "__main__":
    main()
