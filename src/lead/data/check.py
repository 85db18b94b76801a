"""Validate a HumanML3D-format dataset folder and summarise it per split.

Every problem is collected (not just the first) under a category with a count and a few
example file names, so one run tells the user everything to fix.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lead.data.humanml3d import (
    DEFAULT_MIN_LENGTH,
    SPLITS,
    Caption,
    feature_dim,
    read_captions,
    records_for_clip,
)
from lead.errors import LeadError
from lead.io import load_array, read_text

_EXAMPLES = 5


@dataclass
class SplitSummary:
    """Counts for one split (only clips whose motion and captions are both readable)."""

    split: str
    clips: int = 0
    frames: int = 0
    captions: int = 0
    items: int = 0  # loader items after the default length filters (sub-clip captions count separately)
    fps: float = 20.0

    @property
    def hours(self) -> float:
        return self.frames / self.fps / 3600.0


@dataclass
class CheckReport:
    root: Path
    skeleton: str
    splits: list[SplitSummary] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    def add(self, category: str, example: str) -> None:
        self.problems[category].append(example)

    def format(self) -> str:
        """The summary table, then every problem category with its count and examples."""
        lines = [f"dataset {self.root} (skeleton {self.skeleton})"]
        header = f"{'split':<8}{'clips':>8}{'frames':>11}{'hours':>8}{'captions':>10}{'items':>8}"
        lines += [header, "-" * len(header)]
        total = SplitSummary("total", fps=self.splits[0].fps if self.splits else 20.0)
        for summary in self.splits:
            lines.append(_row(summary))
            for name in ("clips", "frames", "captions", "items"):
                setattr(total, name, getattr(total, name) + getattr(summary, name))
        if len(self.splits) > 1:
            lines.append(_row(total))
        lines.append("(items: loader items after the default length filter)")
        for category, examples in self.notes.items():
            lines.append(f"note: {category}: {len(examples)} ({_examples(examples)})")
        if self.ok:
            lines.append("OK: no problems found")
        else:
            count = sum(len(v) for v in self.problems.values())
            lines.append(f"PROBLEMS: {count} in {sum(1 for v in self.problems.values() if v)} categories")
            for category, examples in self.problems.items():
                if examples:
                    lines.append(f"  {category}: {len(examples)} ({_examples(examples)})")
        return "\n".join(lines)


def _row(s: SplitSummary) -> str:
    return f"{s.split:<8}{s.clips:>8}{s.frames:>11}{s.hours:>8.2f}{s.captions:>10}{s.items:>8}"


def _examples(examples: list[str]) -> str:
    shown = ", ".join(examples[:_EXAMPLES])
    return shown + (", ..." if len(examples) > _EXAMPLES else "")


def _check_stats(root: Path, dim: int, report: CheckReport) -> None:
    for name in ("Mean.npy", "Std.npy"):
        path = root / name
        if not path.is_file():
            report.add("missing Mean.npy/Std.npy", name)
            continue
        try:
            values = load_array(path, name)
        except LeadError as error:
            report.add("unreadable Mean.npy/Std.npy", str(error))
            continue
        if values.shape != (dim,):
            report.add(f"Mean/Std shape is not ({dim},)", f"{name} {values.shape}")
        elif not np.isfinite(values).all():
            report.add("Mean/Std contain NaN/inf", name)
        elif name == "Std.npy" and (values <= 0).any():
            report.add("Std.npy has zero or negative entries", f"{int((values <= 0).sum())} channels")


def _check_motion(path: Path, dim: int, report: CheckReport) -> int | None:
    """Frames of a valid motion file, else None (problem recorded)."""
    try:
        motion = load_array(path, "motion")
    except LeadError as error:
        report.add("unreadable motion files", str(error))
        return None
    if motion.ndim != 2 or motion.shape[1] != dim:
        report.add(f"motions not shaped [T, {dim}]", f"{path.name} {motion.shape}")
        return None
    if motion.shape[0] == 0:
        report.add("empty motions", path.name)
        return None
    if not np.isfinite(motion).all():
        report.add("motions with NaN/inf", path.name)
        return None
    return int(motion.shape[0])


def _check_captions(path: Path, report: CheckReport) -> list[Caption] | None:
    try:
        captions = read_captions(path)
    except LeadError as error:
        report.add("unreadable or malformed caption files", f"{path.name}: {error}")
        return None
    if not captions:
        report.add("caption files with no caption", path.name)
        return None
    if any(not c.text for c in captions):
        report.add("empty caption lines", path.name)
    return captions


def check_dataset(
    root: str | Path, skeleton: str = "humanml3d", min_length: int | None = None
) -> CheckReport:
    """Check every file of a dataset folder; see `CheckReport.format()` for the summary."""
    root = Path(root)
    if not root.is_dir():
        raise LeadError(f"dataset folder {root} does not exist")
    from lead.motion.skeleton import get_skeleton

    fps = float(get_skeleton(skeleton).fps)
    dim = feature_dim(skeleton)
    min_length = DEFAULT_MIN_LENGTH[skeleton] if min_length is None else min_length
    if not 1 <= min_length <= 199:
        raise LeadError(f"--min-length must be in 1..199 frames (the loader keeps clips shorter than 200), "
                        f"got {min_length}")
    report = CheckReport(root, skeleton)
    _check_stats(root, dim, report)

    motion_dir, text_dir = root / "new_joint_vecs", root / "texts"
    for folder in (motion_dir, text_dir):
        if not folder.is_dir():
            report.add("missing folders", folder.name)
    motions = {p.stem: p for p in sorted(motion_dir.glob("*.npy"))} if motion_dir.is_dir() else {}
    texts = {p.stem: p for p in sorted(text_dir.glob("*.txt"))} if text_dir.is_dir() else {}
    for clip in sorted(texts.keys() - motions.keys()):
        report.add("captions with no motion", clip)
    for clip in sorted(motions.keys() - texts.keys()):
        report.add("motions with no caption file", clip)

    lengths = {clip: _check_motion(path, dim, report) for clip, path in motions.items()}
    captions = {clip: _check_captions(path, report) for clip, path in texts.items()}

    seen: dict[str, str] = {}
    for split in SPLITS:
        path = root / f"{split}.txt"
        if not path.is_file():
            report.add("missing split files", path.name)
            continue
        try:
            ids = [line.strip() for line in read_text(path, "split list").splitlines() if line.strip()]
        except LeadError as error:
            report.add("unreadable split files", str(error))
            continue
        if not ids:
            report.add("empty split files", path.name)
        summary = SplitSummary(split, fps=fps)
        for clip in ids:
            if clip in seen:
                report.add("ids listed twice (within or across splits)", f"{clip} ({seen[clip]}, {split})")
                continue
            seen[clip] = split
            if clip not in motions:
                report.add("split ids with no motion file", f"{split}:{clip}")
                continue
            if clip not in texts:
                report.add("split ids with no caption file", f"{split}:{clip}")
                continue
            length, clip_captions = lengths[clip], captions[clip]
            if length is None or clip_captions is None:
                continue
            summary.clips += 1
            summary.frames += length
            summary.captions += len(clip_captions)
            summary.items += len(records_for_clip(clip, clip_captions, length, min_length, 196, 4))
            if length < min_length:
                report.notes[
                    f"clips shorter than {min_length} frames (skipped by the default loader)"
                ].append(clip)
            elif length >= 200:
                report.notes["clips of 200+ frames (skipped by the default loader)"].append(clip)
        report.splits.append(summary)
        if summary.clips and not summary.items:
            report.add(f"splits with no loader items: no clip of {min_length}..199 frames with captions "
                       "(lower --min-length or add longer clips)", f"{split} ({summary.clips} clips)")
    for clip in sorted(motions.keys() - seen.keys()):
        report.notes["clips in no split"].append(clip)
    return report
