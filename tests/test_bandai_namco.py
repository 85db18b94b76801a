"""Bandai-Namco -> HumanML3D builder on the real fixture takes (tests/fixtures/bandai-namco)."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lead.cli import main
from lead.data.bandai_namco import Take, assign_splits, clip_windows, find_takes
from lead.data.check import check_dataset
from lead.data.humanml3d import MotionDataset, read_captions, read_split
from lead.errors import LeadError

FIXTURES = Path(__file__).parent / "fixtures" / "bandai-namco"
SOURCES = [FIXTURES / "dataset-1", FIXTURES / "dataset-2"]


def test_find_takes_reads_cfg_labels() -> None:
    takes = {t.name: t for s in SOURCES for t in find_takes(s)}
    assert len(takes) == 8
    assert takes["dataset-1_bow_chimpira_001"].content == "bow"
    assert takes["dataset-1_bow_chimpira_001"].style == "chimpira"
    assert takes["dataset-1_run_giant_001"].style == "giant"
    # JSON labels agree with the file names in every fixture take.
    for name, take in takes.items():
        assert name.split("_")[1:3] == [take.content, take.style] and take.dataset == name.split("_")[0]


def test_windows_cover_long_takes() -> None:
    assert clip_windows(10) == []
    assert clip_windows(120) == [(0, 120)]
    assert clip_windows(197) == [(0, 197)]
    assert clip_windows(230) == [(0, 197)]  # 33-frame remainder (< 2 s) dropped
    assert clip_windows(240) == [(0, 197), (43, 240)]
    windows = clip_windows(1268)  # the longest dataset-1 take at 20 fps
    assert all(end - start == 197 for start, end in windows) and windows[-1][1] == 1268
    assert all(b[0] - a[0] <= 100 for a, b in zip(windows, windows[1:]))


def test_splits_are_stratified_by_take() -> None:
    takes = [
        Take(Path(f"dataset-2_walk_{style}_{i:03d}.bvh"), "dataset-2", "walk", style)
        for style in ("normal", "elderly")
        for i in range(40)
    ]
    takes += [Take(Path(f"dataset-1_walk_{s}_001.bvh"), "dataset-1", "walk", s) for s in "abcdefghijklmno"]
    takes += [Take(Path("dataset-1_kick_normal_001.bvh"), "dataset-1", "kick", "normal")]
    splits = assign_splits(takes, seed=0)
    assert splits == assign_splits(takes, seed=0) and splits != assign_splits(takes, seed=1)
    for style in ("normal", "elderly"):
        chosen = [splits[f"dataset-2_walk_{style}_{i:03d}"] for i in range(40)]
        assert (chosen.count("train"), chosen.count("val"), chosen.count("test")) == (32, 4, 4)
    pooled = [splits[f"dataset-1_walk_{s}_001"] for s in "abcdefghijklmno"]
    assert (pooled.count("val"), pooled.count("test")) == (2, 2)
    assert splits["dataset-1_kick_normal_001"] == "train"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bandai") / "hml"
    assert main(["data", "prepare", "bandai-namco", *map(str, SOURCES), "--out", str(out), "--quiet"]) == 0
    return out


def test_output_is_a_clean_humanml3d_folder(built: Path) -> None:
    report = check_dataset(built)
    assert report.ok, report.format()
    assert not (built.parent / "hml.tmp").exists()
    labels = json.loads((built / "labels.json").read_text())
    ids = [i for split in ("train", "val", "test") for i in read_split(built, split)]
    assert sorted(ids) == sorted(labels) and len(ids) == 8  # every fixture take is under 10 s
    assert all(read_split(built, split) for split in ("train", "val", "test"))
    for clip, info in labels.items():
        features = np.load(built / "new_joint_vecs" / f"{clip}.npy")
        joints = np.load(built / "new_joints" / f"{clip}.npy")
        assert features.shape == (info["frames"], 263) and joints.shape == (info["frames"], 22, 3)
        assert info["end"] - info["start"] == info["frames"] + 1
        assert clip in read_split(built, info["split"])
        captions = read_captions(built / "texts" / f"{clip}.txt")
        assert 3 <= len(captions) <= 5 and all(c.whole_clip and c.tokens for c in captions)
    assert labels["dataset-2_wave-left-hand_normal_024"]["content"] == "wave-left-hand"
    assert np.load(built / "Mean.npy").shape == (263,) and (np.load(built / "Std.npy") > 0).all()
    assert "Bandai Namco Research" in (built / "LICENSE").read_text()
    assert "NonCommercial" in (built / "LICENSE").read_text()
    assert "dataset-1" in (built / "README.md").read_text()
    MotionDataset(built, "train", min_length=16)  # the loader reads it


def test_motion_is_plausible(built: Path) -> None:
    # Walking covers ground; the waving hand is the labelled one and rises above the shoulder.
    walk = np.load(built / "new_joints" / "dataset-2_walk_normal_013.npy")
    assert np.linalg.norm(walk[-1, 0, [0, 2]] - walk[0, 0, [0, 2]]) > 1.5
    assert 1.4 < walk[:, 15, 1].mean() < 2.0  # head height in metres
    wave = np.load(built / "new_joints" / "dataset-2_wave-left-hand_normal_024.npy")
    left, right = wave[:, 20] - wave[:, 0], wave[:, 21] - wave[:, 0]
    assert left.std(0).sum() > 3 * right.std(0).sum()
    assert wave[:, 20, 1].max() > wave[:, 16, 1].max()
    text = (built / "texts" / "dataset-2_wave-left-hand_normal_024.txt").read_text()
    assert "left" in text and "right" not in text


def test_deterministic_and_refuses_to_overwrite(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main(["data", "prepare", "bandai-namco", *map(str, SOURCES), "--out", str(again), "--quiet",
                 "--workers", "1"]) == 0  # fmt: skip
    for name in ("train.txt", "val.txt", "test.txt", "labels.json"):
        assert (again / name).read_text() == (built / name).read_text()
    clip = "dataset-1_run_giant_001"
    assert (again / "texts" / f"{clip}.txt").read_text() == (built / "texts" / f"{clip}.txt").read_text()
    assert np.array_equal(np.load(again / "Std.npy"), np.load(built / "Std.npy"))
    with pytest.raises(LeadError, match="already exists"):
        from lead.data.bandai_namco import prepare_bandai_namco

        prepare_bandai_namco(SOURCES, again, progress=False)


def test_reads_a_tar_xz_archive(tmp_path: Path) -> None:
    archive = tmp_path / "Bandai-Namco-Research-Motiondataset-1.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(SOURCES[0], arcname="Bandai-Namco-Research-Motiondataset-1")
    out = tmp_path / "from-archive"
    assert main(["data", "prepare", "bandai-namco", str(archive), "--out", str(out), "--quiet"]) == 0
    assert sorted(json.loads((out / "labels.json").read_text())) == [
        "dataset-1_bow_chimpira_001",
        "dataset-1_run_giant_001",
    ]


def test_bad_sources_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "prepare", "bandai-namco", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "cfg/" in capsys.readouterr().err


def test_reversed_walks_add_backwards_train_clips(built: Path, tmp_path: Path) -> None:
    from lead.evaluation.motion_quality import motion_metrics, travel_along_facing

    out = tmp_path / "reversed"
    assert main(["data", "prepare", "bandai-namco", *map(str, SOURCES), "--out", str(out), "--quiet",
                 "--reversed-walks"]) == 0  # fmt: skip
    assert check_dataset(out).ok
    labels = json.loads((out / "labels.json").read_text())
    plain = json.loads((built / "labels.json").read_text())
    added = sorted(set(labels) - set(plain))
    # The one train walk of the fixtures gets its reversal; the val walk does not.
    assert added == ["dataset-2_walk_elderly_009_reversed"]
    clip, source = added[0], "dataset-2_walk_elderly_009"
    info = labels[clip]
    assert info["content"] == "walk-back" and info["style"] == "elderly" and info["split"] == "train"
    assert info["augmented"] == "time-reversed walk" and info["take"] == source
    assert clip in read_split(out, "train") and info["frames"] == plain[source]["frames"]
    for split in ("val", "test"):
        assert read_split(out, split) == read_split(built, split)
    # Only real train clips make the statistics: both builds normalise motion identically.
    for name in ("Mean.npy", "Std.npy"):
        assert np.array_equal(np.load(out / name), np.load(built / name))
    captions = [c.text for c in read_captions(out / "texts" / f"{clip}.txt")]
    assert all("back" in text for text in captions), captions
    # The reversal walks backwards as far as the walk went forwards, and its planted feet stay planted.
    forward = np.load(out / "new_joints" / f"{source}.npy")
    backward = np.load(out / "new_joints" / f"{clip}.npy")
    assert travel_along_facing(forward) > 1.5
    assert travel_along_facing(backward) == pytest.approx(-travel_along_facing(forward), rel=0.1)
    assert motion_metrics(backward)["skate_ratio"] <= motion_metrics(forward)["skate_ratio"] + 0.05
    assert motion_metrics(backward)["stride"] == pytest.approx(motion_metrics(forward)["stride"], rel=0.1)
    assert "time-reversed" in (out / "README.md").read_text()
    # The plain build says nothing of an augmentation.
    assert "time-reversed" not in (built / "README.md").read_text()
    # scripts/style_counts.py counts the reversal as augmented train data, apart from the real clips.
    script = Path(__file__).parents[1] / "scripts" / "style_counts.py"
    table = subprocess.run([sys.executable, str(script), "--data", str(out)], capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    rows = {tuple(cells[:2]): cells[2:] for line in table.splitlines()[2:]
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}  # fmt: skip
    assert rows[("walk-back", "elderly")][:2] == ["0", "1"]  # no real train clip, one augmented
    speed = float(rows[("walk", "elderly")][4])
    assert speed == pytest.approx(travel_along_facing(forward) / (len(forward) / 20), rel=0.5) and speed > 0
