"""Data loading at HumanML3D's size: folder scan, `lead data check`, dataset build and loader throughput.

    python benchmarks/data_loading.py --root /tmp/hml-synthetic            # builds the folder if missing
    python benchmarks/data_loading.py --root /tmp/hml-synthetic --workers 0 2 --batches 200

The folder is synthetic but has HumanML3D's layout and size: 14,616 motion files (half of them
mirrored copies named `M…`, as HumanML3D's `new_joint_vecs/` holds them, listed in the split files
like any other clip), lengths drawn from 40–199 frames (mean ~120), three captions per motion in
`caption#word/POS ...#start#end` lines (a few with a sub-range, as HumanML3D has), `Mean.npy`/`Std.npy`,
train/val/test lists in HumanML3D's 80/5/15 proportion. It is made by this script and not committed
(~1.8 GB). Prints one markdown table; times are wall-clock seconds on this machine, one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np

MOTIONS = 14_616
VERBS = ["walks", "runs", "jumps", "waves", "turns", "kicks", "sits", "bows", "dances", "throws"]


def build_folder(root: Path, motions: int = MOTIONS, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "new_joint_vecs").mkdir(parents=True)
    (tmp / "texts").mkdir()
    originals = motions // 2
    names = []
    for index in range(originals):
        length = int(rng.integers(40, 200))
        motion = rng.standard_normal((length, 263)).astype(np.float32) * 0.1
        for name in (f"{index:06d}", f"M{index:06d}"):
            np.save(tmp / "new_joint_vecs" / f"{name}.npy", motion)
            lines = []
            for k in range(3):
                verb = VERBS[(index + k) % len(VERBS)]
                side = "left" if (name.startswith("M")) == (k % 2 == 0) else "right"
                caption = f"a person {verb} and raises the {side} hand"
                tokens = " ".join(f"{w}/{'VERB' if w == verb else 'NOUN'}" for w in caption.split())
                start, end = (0.0, 0.0) if k < 2 or index % 10 else (1.0, length / 20 - 0.5)
                lines.append(f"{caption}#{tokens}#{start}#{end}")
            (tmp / "texts" / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            names.append(name)
    order = rng.permutation(len(names))
    cut_train, cut_val = int(0.8 * len(names)), int(0.85 * len(names))
    for split, chunk in (("train", order[:cut_train]), ("val", order[cut_train:cut_val]), ("test", order[cut_val:])):
        (tmp / f"{split}.txt").write_text("\n".join(names[i] for i in sorted(chunk)) + "\n", encoding="utf-8")
    np.save(tmp / "Mean.npy", np.zeros(263, np.float32))
    np.save(tmp / "Std.npy", np.full(263, 0.1, np.float32))
    (tmp / "LICENSE").write_text("synthetic benchmark data\n", encoding="utf-8")
    os.replace(tmp, root)


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/tmp/hml-synthetic"))
    parser.add_argument("--motions", type=int, default=MOTIONS)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=200, help="batches timed per worker count")
    args = parser.parse_args()

    import torch
    from torch.utils.data import DataLoader

    from lead.data.check import check_dataset
    from lead.data.humanml3d import MotionDataset, collate_motions, load_records

    torch.set_num_threads(1)
    rows = []
    if not (args.root / "train.txt").is_file():
        _, seconds = timed(lambda: build_folder(args.root, args.motions))
        rows.append(("build the synthetic folder (not part of lead)", f"{seconds:.1f}", ""))
    records, seconds = timed(lambda: load_records(args.root, "train"))
    rows.append(("scan: `load_records` (train split; lengths from .npy headers, captions)", f"{seconds:.1f}",
                 f"{len(records):,} items"))
    report, seconds = timed(lambda: check_dataset(args.root))
    rows.append(("`lead data check` (every split, every file read)", f"{seconds:.1f}",
                 "OK" if report.ok else f"{sum(map(len, report.problems.values()))} problems"))
    dataset, seconds = timed(lambda: MotionDataset(args.root, "train"))
    rows.append(("build `MotionDataset` (train: load and cast every motion)", f"{seconds:.1f}",
                 f"{len(dataset):,} items"))
    for workers in args.workers:
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                            collate_fn=collate_motions, num_workers=workers,
                            generator=torch.Generator().manual_seed(0), persistent_workers=workers > 0)
        iterator = iter(loader)
        next(iterator)  # start-up (worker processes) is not counted
        start = time.perf_counter()
        count = 0
        for _ in range(args.batches):
            try:
                count += len(next(iterator)["lengths"])
            except StopIteration:
                break
        seconds = time.perf_counter() - start
        rows.append((f"DataLoader, {workers} workers, batch {args.batch_size}", f"{seconds:.1f}",
                     f"{count / seconds:,.0f} items/s"))
        del iterator, loader
    print(f"HumanML3D-size folder: {args.motions:,} motions ({args.root})\n")
    print("| step | seconds | result |\n|---|---|---|")
    for name, seconds, result in rows:
        print(f"| {name} | {seconds} | {result} |")


if __name__ == "__main__":
    main()
