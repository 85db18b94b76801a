"""HumanML3D folder reader on tiny datasets cut from the real reference clip (012314, 170 frames)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lead.data.humanml3d import (
    Caption,
    MotionDataset,
    collate_motions,
    load_records,
    read_captions,
    read_split,
)
from lead.errors import LeadError

REFERENCE = Path(__file__).parent / "fixtures" / "humanml3d-reference"
LINE = "a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0"


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return np.load(REFERENCE / "new_joint_vecs" / "012314.npy")


def make_dataset(root: Path, motions: dict[str, np.ndarray], texts: dict[str, str], splits: dict) -> Path:
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    for name, motion in motions.items():
        np.save(root / "new_joint_vecs" / f"{name}.npy", motion)
    for name, text in texts.items():
        (root / "texts" / f"{name}.txt").write_text(text)
    for split, ids in splits.items():
        (root / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    shutil.copy(REFERENCE / "Mean.npy", root / "Mean.npy")
    shutil.copy(REFERENCE / "Std.npy", root / "Std.npy")
    return root


@pytest.fixture
def dataset_root(tmp_path: Path, clip: np.ndarray) -> Path:
    motions = {
        "full": clip,  # 170 frames
        "short": clip[:30],  # below the 40-frame minimum
        "long": np.concatenate([clip, clip])[:250],  # 250 >= 200: dropped by the reference filter
        "sub": clip,  # whole-clip caption plus two sub-clip captions
        "edge": np.concatenate([clip, clip])[:199],  # 199 < 200 kept, cropped to <= 196
    }
    texts = {name: LINE + "\n" for name in motions}
    texts["full"] = LINE + "\n" + "someone strolls ahead.#someone/PRON stroll/VERB ahead/ADV#0.0#0.0\n"
    texts["sub"] = (
        LINE + "\n"
        "a person waves.#a/DET person/NOUN wave/VERB#1.0#4.0\n"  # frames 20..80
        "too short.#too/ADV short/ADJ#0.0#1.0\n"  # 20 frames: dropped
    )
    return make_dataset(
        tmp_path / "ds", motions, texts, {"train": list(motions), "val": ["full"], "test": []}
    )


def test_read_captions_and_split(dataset_root: Path) -> None:
    captions = read_captions(dataset_root / "texts" / "sub.txt")
    assert captions[0] == Caption(
        "a person walks forward.", ("a/DET", "person/NOUN", "walk/VERB", "forward/ADV")
    )
    assert captions[0].whole_clip and not captions[1].whole_clip
    assert (captions[1].start, captions[1].end) == (1.0, 4.0)
    assert captions[0].to_line() == LINE
    assert read_split(dataset_root, "train") == ["full", "short", "long", "sub", "edge"]
    assert read_split(dataset_root, "test") == []


def test_records_follow_reference_filters(dataset_root: Path) -> None:
    records = {r.name: r for r in load_records(dataset_root, "train")}
    assert set(records) == {"full", "sub", "sub@20-80", "edge"}
    assert records["full"].length == 170 and len(records["full"].captions) == 2
    assert (records["sub@20-80"].start, records["sub@20-80"].end) == (20, 80)
    assert records["sub@20-80"].captions[0].text == "a person waves."
    # KIT-style minimum keeps the 30-frame clip.
    assert "short" in {r.name for r in load_records(dataset_root, "train", min_length=24)}


def test_items_are_normalized_unit_crops(dataset_root: Path, clip: np.ndarray) -> None:
    dataset = MotionDataset(dataset_root, "train", seed=3)
    mean, std = np.load(dataset_root / "Mean.npy"), np.load(dataset_root / "Std.npy")
    lengths = set()
    for index in range(len(dataset)):
        for epoch in range(6):
            dataset.set_epoch(epoch)
            item = dataset[index]
            assert item["features"].shape == (item["length"], 263)
            assert item["length"] % 4 == 0 and 40 - 4 <= item["length"] <= 196
            lengths.add((item["name"], item["length"]))
            if item["name"] == "sub@20-80":
                raw = clip[20:80]
                assert item["caption"] == "a person waves."
                assert item["length"] in (60, 56)
            elif item["name"] == "edge":
                raw = np.concatenate([clip, clip])[:199]
                assert item["length"] in (196, 192)
            else:
                raw = clip
                assert item["length"] in (168, 164)
            denorm = item["features"].numpy() * std + mean
            # The crop is a contiguous window of the source motion.
            starts = [
                s for s in range(len(raw) - item["length"] + 1) if np.allclose(raw[s], denorm[0], atol=1e-4)
            ]
            assert starts and np.allclose(raw[starts[0] : starts[0] + item["length"]], denorm, atol=1e-4)
    # Both the "single" and "double" unit rounding of the reference occur.
    assert ("full", 168) in lengths and ("full", 164) in lengths


def test_crops_are_seeded(dataset_root: Path) -> None:
    a, b = MotionDataset(dataset_root, seed=1), MotionDataset(dataset_root, seed=1)
    c = MotionDataset(dataset_root, seed=2)
    same = [torch.equal(a[i]["features"], b[i]["features"]) for i in range(len(a))]
    assert all(same)
    draws_a = [(a[i]["length"], a[i]["caption"], a[i]["features"][0, 0].item()) for i in range(len(a))]
    a.set_epoch(1)
    draws_next = [(a[i]["length"], a[i]["caption"], a[i]["features"][0, 0].item()) for i in range(len(a))]
    draws_c = [(c[i]["length"], c[i]["caption"], c[i]["features"][0, 0].item()) for i in range(len(c))]
    assert draws_a != draws_next and draws_a != draws_c


def test_collate_pads_and_masks(dataset_root: Path) -> None:
    dataset = MotionDataset(dataset_root, seed=0)
    items = [dataset[i] for i in range(len(dataset))]
    batch = collate_motions(items)
    lengths = [item["length"] for item in items]
    assert batch["features"].shape == (len(items), max(lengths), 263)
    assert batch["lengths"].tolist() == lengths and batch["lengths"].dtype == torch.long
    assert batch["mask"].dtype == torch.bool and batch["mask"].sum(1).tolist() == lengths
    for row, item in enumerate(items):
        assert torch.equal(batch["features"][row, : item["length"]], item["features"])
        assert batch["features"][row, item["length"] :].abs().sum() == 0
    assert batch["names"] == [item["name"] for item in items]
    assert batch["tokens"][0][:2] in (["a/DET", "person/NOUN"], ["someone/PRON", "stroll/VERB"])
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=collate_motions)
    assert sum(len(b["names"]) for b in loader) == len(dataset)


def test_clear_errors(tmp_path: Path, dataset_root: Path) -> None:
    with pytest.raises(LeadError, match="does not exist"):
        MotionDataset(tmp_path / "nowhere")
    with pytest.raises(LeadError, match="split file"):
        MotionDataset(dataset_root, split="holdout")
    with pytest.raises(LeadError, match="no usable items"):
        MotionDataset(dataset_root, split="test")
    (dataset_root / "Std.npy").unlink()
    with pytest.raises(LeadError, match="Std.npy"):
        MotionDataset(dataset_root)
