"""Reader for the HumanML3D / KIT-ML folder format.

A dataset folder holds::

    new_joint_vecs/<id>.npy   features [T, D] (D = 263 HumanML3D, 251 KIT)
    texts/<id>.txt            one caption per line: ``caption#word/POS word/POS ...#start#end``
    Mean.npy, Std.npy         per-channel normalisation statistics [D]
    train.txt, val.txt, test.txt   clip ids, one per line

The item logic follows the reference ``Text2MotionDatasetV2`` (Guo et al.): a caption whose
start and end are both 0.0 describes the whole clip; any other caption describes the
sub-clip ``[int(start * 20), int(end * 20))`` and becomes an item of its own. Motions are kept
when ``min_length <= T < max_length + unit`` (the reference's ``40 <= T < 200``), and every
draw crops a random window whose length is a multiple of ``unit`` (one unit shorter with
probability 1/3, as the reference does for ``unit < 10``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lead.errors import LeadError
from lead.io import load_array, open_regular, read_text

SPLITS = ("train", "val", "test")
CAPTION_FPS = 20  # the reference converts caption seconds to frames at 20 fps for HumanML3D and KIT
DEFAULT_MIN_LENGTH = {"humanml3d": 40, "kit": 24}


@dataclass(frozen=True)
class Caption:
    """One caption line. `tokens` are ``word/POS`` strings; start = end = 0.0 means the whole clip."""

    text: str
    tokens: tuple[str, ...]
    start: float = 0.0
    end: float = 0.0

    @property
    def whole_clip(self) -> bool:
        return self.start == 0.0 and self.end == 0.0

    def to_line(self) -> str:
        return f"{self.text}#{' '.join(self.tokens)}#{self.start}#{self.end}"


@dataclass(frozen=True)
class TextMotionRecord:
    """One dataset item before cropping: frames ``[start, end)`` of clip `clip` and its captions."""

    name: str
    clip: str
    start: int
    end: int
    captions: tuple[Caption, ...]

    @property
    def length(self) -> int:
        return self.end - self.start


class SupportsNormalize(Protocol):
    def normalize(self, x: Any) -> Any: ...


def feature_dim(skeleton: str) -> int:
    """Feature width of a skeleton's HumanML3D-style vector (263 for humanml3d, 251 for kit)."""
    from lead.motion.skeleton import get_skeleton

    return int(get_skeleton(skeleton).feature_dim)


def _parse_float(value: str) -> float:
    number = float(value)
    return 0.0 if math.isnan(number) else number


def parse_caption_line(line: str, where: str = "") -> Caption:
    """Parse ``caption#tokens#start#end``; a bare caption (no '#') is read as a whole-clip caption."""
    parts = line.rstrip("\n").split("#")
    if len(parts) == 1:
        return Caption(parts[0].strip(), ())
    if len(parts) != 4:
        raise LeadError(f"{where}: caption line {line.strip()!r} should read 'caption#tokens#start#end'")
    text, tokens, start, end = parts
    try:
        start_s, end_s = _parse_float(start), _parse_float(end)
    except ValueError:
        raise LeadError(f"{where}: start/end in {line.strip()!r} are not numbers") from None
    return Caption(text.strip(), tuple(tokens.split()), start_s, end_s)


def read_captions(path: str | Path) -> list[Caption]:
    """All captions of one ``texts/<id>.txt`` file (blank lines skipped)."""
    path = Path(path)
    lines = read_text(path, "caption file").splitlines()
    return [parse_caption_line(line, str(path)) for line in lines if line.strip()]


def read_split(root: str | Path, split: str) -> list[str]:
    """Clip ids listed in ``<root>/<split>.txt`` (one per line, order kept)."""
    path = Path(root) / f"{split}.txt"
    if not path.is_file():
        raise LeadError(f"split file {path} is missing; expected one of {', '.join(SPLITS)}.txt in {root}")
    return [line.strip() for line in read_text(path, "split list").splitlines() if line.strip()]


def _require_folder(root: Path) -> None:
    if not root.is_dir():
        raise LeadError(f"dataset folder {root} does not exist; pass a HumanML3D-format folder")
    for sub in ("new_joint_vecs", "texts"):
        if not (root / sub).is_dir():
            raise LeadError(
                f"{root / sub} is missing; a HumanML3D-format folder needs new_joint_vecs/ and texts/"
            )


def motion_length(path: Path) -> int:
    """Number of frames of a features file, read from the header only."""
    try:
        # the .npy header only, no memory map per file (benchmarks/data_loading.py)
        with open_regular(path, "motion") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, _ = read_header(handle)
    except (OSError, ValueError) as error:
        raise LeadError(f"cannot read motion {path}: {error}") from None
    if not shape:
        raise LeadError(f"cannot read motion {path}: it holds a scalar, not a [T, D] array")
    return int(shape[0])


def records_for_clip(
    clip: str, captions: Sequence[Caption], length: int, min_length: int, max_length: int, unit: int
) -> list[TextMotionRecord]:
    """Items of one clip: the whole clip (if it has whole-clip captions) plus one per sub-clip caption."""
    upper = max_length + unit  # the reference keeps T < 200 and crops to <= 196

    def keep(n: int) -> bool:
        return min_length <= n < upper

    records = []
    if not keep(length):
        return records
    whole = tuple(c for c in captions if c.whole_clip)
    if whole:
        records.append(TextMotionRecord(clip, clip, 0, length, whole))
    for caption in captions:
        if caption.whole_clip:
            continue
        start = int(caption.start * CAPTION_FPS)
        end = min(int(caption.end * CAPTION_FPS), length)
        if keep(end - start):
            records.append(TextMotionRecord(f"{clip}@{start}-{end}", clip, start, end, (caption,)))
    return records


def load_records(
    root: str | Path,
    split: str = "train",
    min_length: int = 40,
    max_length: int = 196,
    unit: int = 4,
    ids: Sequence[str] | None = None,
) -> list[TextMotionRecord]:
    """Items of one split after the reference length filters (no features loaded, only lengths).

    Clips whose motion or caption file is missing are skipped (``lead data check`` reports them).
    """
    root = Path(root)
    _require_folder(root)
    clip_ids = list(ids) if ids is not None else read_split(root, split)
    records: list[TextMotionRecord] = []
    for clip in clip_ids:
        motion_path = root / "new_joint_vecs" / f"{clip}.npy"
        text_path = root / "texts" / f"{clip}.txt"
        if not motion_path.is_file() or not text_path.is_file():
            continue
        captions = read_captions(text_path)
        records.extend(
            records_for_clip(clip, captions, motion_length(motion_path), min_length, max_length, unit)
        )
    return records


def dataset_normalizer(root: str | Path) -> SupportsNormalize:
    """The dataset's own normaliser (Mean.npy / Std.npy in `root`)."""
    from lead.motion.features import Normalizer

    return Normalizer.from_dataset(root)


class MotionDataset:
    """Text-motion pairs of one split; an item is a random crop with one random caption.

    Item: {"features": FloatTensor [T, D] normalized, "length": T, "caption": str,
    "tokens": list[str] (``word/POS``), "name": str}. Randomness comes from a numpy Generator
    seeded by ``(seed, epoch, index)``, so crops are reproducible and independent of DataLoader
    workers; call ``set_epoch(epoch)`` to draw new crops each epoch.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        skeleton: str = "humanml3d",
        min_length: int = 40,
        max_length: int = 196,
        unit: int = 4,
        normalizer: SupportsNormalize | None = None,
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.skeleton = skeleton
        self.min_length, self.max_length, self.unit = min_length, max_length, unit
        self.seed, self.epoch = seed, 0
        self.dim = feature_dim(skeleton)
        _require_folder(self.root)
        self.normalizer = normalizer if normalizer is not None else dataset_normalizer(self.root)
        self.records = load_records(self.root, split, min_length, max_length, unit)
        if not self.records:
            raise LeadError(
                f"{self.root} split {split!r} has no usable items (motions of {min_length}.."
                f"{max_length + unit - 1} frames with captions); run `lead data check` on it"
            )
        self._motions: dict[str, np.ndarray] = {}
        for clip in dict.fromkeys(r.clip for r in self.records):
            path = self.root / "new_joint_vecs" / f"{clip}.npy"
            motion = load_array(path, "motion").astype(np.float32, copy=False)
            if motion.ndim != 2 or motion.shape[1] != self.dim:
                raise LeadError(f"{path} has shape {motion.shape}; expected [T, {self.dim}] for {skeleton}")
            if not np.isfinite(motion).all():  # found now, not as a NaN loss or a NaN metric much later
                raise LeadError(f"{path}: motion holds NaN or infinite values; fix or remove the clip "
                                "(lead data check lists them)")
            # normalised once here, not per item (benchmarks/data_loading.py)
            self._motions[clip] = np.asarray(self.normalizer.normalize(motion), dtype=np.float32)

    def set_epoch(self, epoch: int) -> None:
        """Reseed the crops and caption choices for a new epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def crop_length(self, length: int, rng: np.random.Generator) -> int:
        """A multiple of `unit` <= min(length, max_length); one unit shorter with probability 1/3."""
        crop = min(length // self.unit * self.unit, self.max_length // self.unit * self.unit)
        if self.unit < 10 and rng.integers(3) == 2 and crop > self.unit:
            crop -= self.unit
        return crop

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        record = self.records[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        caption = record.captions[int(rng.integers(len(record.captions)))]
        crop = self.crop_length(record.length, rng)
        start = record.start + int(rng.integers(record.length - crop + 1))
        features = self._motions[record.clip][start : start + crop]
        return {
            "features": torch.from_numpy(np.ascontiguousarray(features)),
            "length": crop,
            "caption": caption.text,
            "tokens": list(caption.tokens),
            "name": record.name,
        }


def normalised_batch(normalizer, motions: Sequence[Any], max_length: int | None = None):
    """Raw feature arrays `(T_i, D)` → (normalised, zero-padded float32 batch `[B, max T_i, D]`, lengths `[B]`),
    each cut to `max_length` frames if given: what the VAE encoder takes (evaluation, t-SNE, checks)."""
    import torch

    if not motions:
        raise ValueError("normalised_batch needs at least one motion")
    rows = [torch.from_numpy(np.asarray(normalizer.normalize(np.asarray(m)[:max_length]), dtype=np.float32))
            for m in motions]
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
    return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True), lengths


def collate_motions(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Zero-pad a list of items: {"features": [B, Tmax, D], "lengths": [B], "mask": [B, Tmax] (True = valid),
    "captions", "tokens", "names"}."""
    import torch

    if not items:
        raise ValueError("collate_motions needs at least one item")
    lengths = torch.tensor([int(item["length"]) for item in items], dtype=torch.long)
    longest = int(lengths.max())
    features = torch.nn.utils.rnn.pad_sequence([item["features"][: item["length"]] for item in items],
                                               batch_first=True)  # 3x faster than a row-by-row copy
    mask = torch.arange(longest)[None, :] < lengths[:, None]
    return {
        "features": features,
        "lengths": lengths,
        "mask": mask,
        "captions": [item["caption"] for item in items],
        "tokens": [list(item["tokens"]) for item in items],
        "names": [item["name"] for item in items],
    }
