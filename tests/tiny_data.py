"""Test data built from the real fixtures: the tiny HumanML3D-format dataset cut from the reference clip
(tests/fixtures/humanml3d-reference), built by the `tiny_dataset` fixture (tests/conftest.py) and by the
hostile-input sweep (scripts/hostile); and a long BVH take made of the CMU fixture (tests/test_bvh.py and
benchmarks/bvh_reading.py)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "humanml3d-reference"

CAPTIONS = [
    "a person walks forward",
    "someone waves with the right hand",
    "a man raises both hands",
    "a person turns left while walking",
]


def build_tiny_dataset(root: Path, clips: int = 12, splits: tuple[int, int, int] = (8, 2, 2),
                       captions: Sequence[str] = CAPTIONS) -> Path:
    """`clips` windows of 44–120 frames of the reference clip (seeded), two captions each, split
    train/val/test by `splits` (the test split takes the rest), with the reference Mean/Std."""
    features = np.load(REFERENCE / "new_joint_vecs" / "012314.npy")
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    rng = np.random.default_rng(0)
    names = []
    for index in range(clips):
        length = int(rng.integers(44, 121))
        start = int(rng.integers(0, features.shape[0] - length))
        name = f"{index:06d}"
        np.save(root / "new_joint_vecs" / f"{name}.npy", features[start : start + length])
        caption = captions[index % len(captions)]
        words = " ".join(f"{w}/NOUN" for w in caption.split())
        lines = [f"{caption}#{words}#0.0#0.0", f"{caption} slowly#{words} slowly/ADV#0.0#0.0"]
        (root / "texts" / f"{name}.txt").write_text("\n".join(lines) + "\n")
        names.append(name)
    train, val, _ = splits
    for split, chunk in (("train", names[:train]), ("val", names[train : train + val]),
                         ("test", names[train + val :])):
        (root / f"{split}.txt").write_text("\n".join(chunk) + "\n")
    shutil.copyfile(REFERENCE / "Mean.npy", root / "Mean.npy")
    shutil.copyfile(REFERENCE / "Std.npy", root / "Std.npy")
    (root / "LICENSE").write_text("Test data cut from the HumanML3D reference sample (MIT).\n")
    return root


CMU_TAKE = FIXTURES / "01_01.bvh"  # 2,752 frames at 120 fps, 31 joints


def write_long_cmu_take(path: Path, frames: int) -> Path:
    """The CMU fixture's frames repeated to `frames` frames (its header says so), written to `path`."""
    header, data = CMU_TAKE.read_text().split("Frame Time: .0083333\n")
    lines = data.strip().splitlines()
    lines = (lines * (-(-frames // len(lines))))[:frames]
    header = header.replace("Frames: 2752", f"Frames: {frames}")
    path.write_text(header + "Frame Time: .0083333\n" + "\n".join(lines) + "\n")
    return path
