"""Shared fixtures: real files only (tests/fixtures), built into tiny dataset/model folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "humanml3d-reference"

CAPTIONS = [
    "a person walks forward",
    "someone waves with the right hand",
    "a man raises both hands",
    "a person turns left while walking",
]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A HumanML3D-format folder cut from the real reference clip (170 frames, 263-d).

    Twelve clips (windows of 44–120 frames), each with two captions; splits 8/2/2.
    """
    root = tmp_path_factory.mktemp("tiny_dataset")
    features = np.load(REFERENCE / "new_joint_vecs" / "012314.npy")
    (root / "new_joint_vecs").mkdir()
    (root / "texts").mkdir()
    rng = np.random.default_rng(0)
    names = []
    for index in range(12):
        length = int(rng.integers(44, 121))
        start = int(rng.integers(0, features.shape[0] - length))
        name = f"{index:06d}"
        np.save(root / "new_joint_vecs" / f"{name}.npy", features[start : start + length])
        caption = CAPTIONS[index % len(CAPTIONS)]
        words = " ".join(f"{w}/NOUN" for w in caption.split())
        lines = [f"{caption}#{words}#0.0#0.0", f"{caption} slowly#{words} slowly/ADV#0.0#0.0"]
        (root / "texts" / f"{name}.txt").write_text("\n".join(lines) + "\n")
        names.append(name)
    for split, chunk in (("train", names[:8]), ("val", names[8:10]), ("test", names[10:])):
        (root / f"{split}.txt").write_text("\n".join(chunk) + "\n")
    shutil.copyfile(REFERENCE / "Mean.npy", root / "Mean.npy")
    shutil.copyfile(REFERENCE / "Std.npy", root / "Std.npy")
    (root / "LICENSE").write_text("Test data cut from the HumanML3D reference sample (MIT).\n")
    return root


@pytest.fixture(scope="session")
def tiny_model(tiny_dataset, tmp_path_factory) -> Path:
    """A tiny model trained for a few steps through the real `lead train` commands."""
    from lead.cli import main

    out = tmp_path_factory.mktemp("tiny_model")
    common = ["--data", str(tiny_dataset), "--out", str(out), "--preset", "tiny", "--batch-size", "4",
              "--lr", "1e-3", "--checkpoint-every", "5", "--log-every", "1"]
    assert main(["train", "vae", *common, "--max-steps", "6"]) == 0
    assert main(["train", "denoiser", *common, "--max-steps", "6"]) == 0
    assert main(["train", "projector", *common, "--max-steps", "6"]) == 0
    return out
