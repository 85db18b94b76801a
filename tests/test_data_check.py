"""`lead data check` on a good and a deliberately broken dataset built from the real reference clip."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lead.cli import main
from lead.data.check import check_dataset

REFERENCE = Path(__file__).parent / "fixtures" / "humanml3d-reference"
LINE = "a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0\n"


def build(root: Path) -> Path:
    clip = np.load(REFERENCE / "new_joint_vecs" / "012314.npy")
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    pieces = {"a": clip, "b": clip[:100], "c": clip[50:], "d": clip[:60]}
    for name, motion in pieces.items():
        np.save(root / "new_joint_vecs" / f"{name}.npy", motion)
        (root / "texts" / f"{name}.txt").write_text(LINE * 2)
    (root / "train.txt").write_text("a\nb\n")
    (root / "val.txt").write_text("c\n")
    (root / "test.txt").write_text("d\n")
    shutil.copy(REFERENCE / "Mean.npy", root / "Mean.npy")
    shutil.copy(REFERENCE / "Std.npy", root / "Std.npy")
    return root


def test_good_dataset_passes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = build(tmp_path / "good")
    report = check_dataset(root)
    assert report.ok, report.format()
    counts = {s.split: (s.clips, s.frames, s.captions, s.items) for s in report.splits}
    assert counts == {"train": (2, 270, 4, 2), "val": (1, 120, 2, 1), "test": (1, 60, 2, 1)}
    assert report.splits[0].hours == pytest.approx(270 / 20 / 3600)
    assert main(["data", "check", str(root)]) == 0
    out = capsys.readouterr().out
    assert "OK: no problems found" in out and "total" in out


def test_broken_dataset_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = build(tmp_path / "broken")
    clip = np.load(root / "new_joint_vecs" / "a.npy")
    bad = clip.copy()
    bad[3, 7] = np.nan
    np.save(root / "new_joint_vecs" / "a.npy", bad)  # NaN
    np.save(root / "new_joint_vecs" / "b.npy", clip[:, :251])  # wrong width
    (root / "new_joint_vecs" / "c.npy").write_bytes(b"not numpy")  # unreadable
    np.save(root / "new_joint_vecs" / "orphan.npy", clip)  # no caption
    (root / "texts" / "ghost.txt").write_text(LINE)  # no motion
    (root / "texts" / "d.txt").write_text("")  # no caption lines
    (root / "test.txt").write_text("d\nmissing\na\n")  # unknown id, id in two splits
    (root / "val.txt").unlink()
    np.save(root / "Std.npy", np.ones(100, dtype=np.float32))
    report = check_dataset(root)
    assert not report.ok
    problems = {category: len(examples) for category, examples in report.problems.items() if examples}
    assert problems == {
        "Mean/Std shape is not (263,)": 1,
        "captions with no motion": 1,
        "motions with no caption file": 1,
        "motions with NaN/inf": 1,
        "motions not shaped [T, 263]": 1,
        "unreadable motion files": 1,
        "caption files with no caption": 1,
        "missing split files": 1,
        "split ids with no motion file": 1,
        "ids listed twice (within or across splits)": 1,
    }
    assert main(["data", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert "PROBLEMS: 10 in 10 categories" in out and "missing split files: 1 (val.txt)" in out


def test_kit_width_and_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = build(tmp_path / "kit")
    report = check_dataset(root, skeleton="kit")
    assert report.problems["motions not shaped [T, 251]"] and report.problems["Mean/Std shape is not (251,)"]
    assert main(["data", "check", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
