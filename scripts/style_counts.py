"""How much training data each style of a content has, and how fast its real clips travel.

    python scripts/style_counts.py --data bandai-rev --contents walk walk-back

For every (content, style) of a Bandai-Namco-style dataset (DATA/labels.json from `lead data prepare
bandai-namco`), prints the number of train clips (real, and augmented ones such as `--reversed-walks`'s),
the val/test clips, and the mean speed of the real clips: pelvis travel along the first frames' facing
direction (`lead.evaluation.motion_quality.travel_along_facing`) over the clip's duration, in m/s,
negative = backwards. This is what to read before judging a styled caption's generations: a style with
three train clips that walk at 0.46 m/s is not one the model can be expected to reproduce well.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from lead.evaluation.motion_quality import FPS, travel_along_facing
from lead.io import read_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="dataset folder with labels.json")
    parser.add_argument("--contents", nargs="+", default=["walk", "walk-back"], help="content labels")
    args = parser.parse_args()
    labels = read_json(args.data / "labels.json", "labels file",
                       hint="prepare the dataset with `lead data prepare bandai-namco`")
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    speeds: dict[tuple, list[float]] = defaultdict(list)
    for clip, label in sorted(labels.items()):
        if label["content"] not in args.contents:
            continue
        key = (label["content"], label["style"])
        kind = "augmented" if label.get("augmented") else "real"
        counts[key][f"{label['split']} {kind}"] += 1
        if kind == "real":
            joints = np.load(args.data / "new_joints" / f"{clip}.npy")
            speeds[key].append(travel_along_facing(joints) / (len(joints) / FPS))
    if not counts:
        raise SystemExit(f"no clip of {args.contents} in {args.data / 'labels.json'}")
    print("| content | style | train real | train augmented | val | test | real speed m/s |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(counts):
        c = counts[key]
        val = c["val real"] + c["val augmented"]
        test = c["test real"] + c["test augmented"]
        speed = f"{np.mean(speeds[key]):+.2f}" if speeds[key] else "-"
        print(f"| {key[0]} | {key[1]} | {c['train real']} | {c['train augmented']} | {val} | {test} | {speed} |")


if __name__ == "__main__":
    main()
