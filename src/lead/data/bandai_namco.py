"""Build a HumanML3D-format dataset from the Bandai-Namco Research motion datasets 1 and 2.

For every take (``data/<name>.bvh`` + ``<name>.json`` with 0-based ``content``/``style`` indexes
into ``cfg/content_label.txt`` / ``cfg/style_label.txt``):

1. retarget to the SMPL 22-joint layout at 20 fps (`bvh_to_humanml3d_joints(joint_map="bandai")`);
2. cut into clips: a take of at most ``WINDOW`` = 197 joint frames (9.85 s; 196 feature frames, the
   loader's maximum) is one clip; a longer take gives windows of 197 frames every ``STRIDE`` = 100
   frames (5 s), plus one window aligned to the end when the last window leaves at least ``MIN_TAIL``
   = 40 frames (2 s) uncovered (shorter remainders are dropped). Whole takes shorter than
   ``MIN_TAKE`` = 16 joint frames are dropped (none in the real data: the shortest is 27 frames);
   short takes are kept on purpose because most raise-up-hand takes last 1-2.5 s;
3. features per clip with `joints_to_features` (the reference canonicalises each clip), and
   ``new_joints`` recovered from them (as HumanML3D's ``new_joints`` are);
4. 3-5 captions per clip from the labels (`lead.data.captions`), seeded per clip id.

With ``reversed_walks=True`` (``--reversed-walks``) every *train* take whose content is ``walk`` is
also played backwards in time: the same joints in reverse frame order are a figure that steps
backwards with the style of the take (feet that were planted stay planted, so no skating is added;
gait studies find backward walking close to forward walking reversed in time, toe landing first,
though real backward walks are slower). Its clips are ``<take>_reversed[_wNN]`` with content
``walk-back``, ``walk-back`` captions of the take's style and ``"augmented": "time-reversed walk"``
in labels.json (``take`` names the source take; ``start``/``end`` count frames of the reversed take).
They exist because the real data has 12 backwards-walking train takes against 176 forward walks,
and a model trained on those alone often walks forwards when a backwards caption names a style
(docs/default_model.md, "Walking backwards"). Val and test keep only real takes, and Mean/Std come from the real
train clips only, so a dataset with and without the augmentation normalises motion identically.

Splits are by take (all windows of a take share its split), stratified: takes are grouped by
(dataset, content, style); a group of at least ``MIN_STRATUM`` = 10 takes sends round(10%) to val,
round(10%) to test and the rest to train. Takes in smaller groups (all of dataset-1) are pooled per
(dataset, content) and split the same way when the pool reaches 10 takes; contents with fewer
takes (dataset-1 call, punch, kick, respond, slash, dance-short) go entirely to train. Only for tiny
inputs that would leave val or test empty, one take of the content with most train takes moves there.

Mean.npy/Std.npy come from the train clips only, as the reference computes them: the per-channel
mean, and the per-channel std averaged within each feature group (root rotation velocity, root
linear velocity, root height, ric, rot, local velocity, feet).
"""

from __future__ import annotations

import json
import lzma
import multiprocessing
import shutil
import tarfile
import tempfile
import time
import zlib
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lead.data.captions import label_name, make_captions
from lead.errors import LeadError
from lead.io import save_json, save_npy, save_text

FPS = 20
WINDOW, STRIDE, MIN_TAIL, MIN_TAKE = 197, 100, 40, 16
MIN_STRATUM = 10
SPLIT_FRACTIONS = {"val": 0.1, "test": 0.1}


@dataclass(frozen=True)
class Take:
    """One BVH take and its labels."""

    bvh: Path
    dataset: str  # "dataset-1" / "dataset-2"
    content: str
    style: str

    @property
    def name(self) -> str:
        return self.bvh.stem


@dataclass
class TakeResult:
    """What a worker wrote for one take; `sums` are train statistics (count, sum, sum of squares)."""

    take: str
    clips: list[dict] = field(default_factory=list)
    count: int = 0
    total: np.ndarray | None = None
    squares: np.ndarray | None = None


def _read_labels(path: Path) -> list[str]:
    if not path.is_file():
        raise LeadError(
            f"{path} is missing; a Bandai-Namco dataset folder has cfg/content_label.txt and style_label.txt"
        )
    return [label_name(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def find_takes(folder: Path) -> list[Take]:
    """All takes of one extracted dataset folder (``cfg/`` and ``data/`` inside), sorted by name."""
    contents = _read_labels(folder / "cfg" / "content_label.txt")
    styles = _read_labels(folder / "cfg" / "style_label.txt")
    data = folder / "data"
    if not data.is_dir():
        raise LeadError(f"{data} is missing; expected the dataset's data/ folder of .bvh and .json files")
    takes = []
    for bvh in sorted(data.glob("*.bvh")):
        label_path = bvh.with_suffix(".json")
        if not label_path.is_file():
            raise LeadError(f"{label_path} is missing; every take needs its JSON labels beside the BVH")
        try:
            labels = json.loads(label_path.read_text(encoding="utf-8"))
            content, style = contents[int(labels["content"])], styles[int(labels["style"])]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise LeadError(
                f"{label_path}: expected {{'content': i, 'style': j}} indexing cfg labels ({error})"
            ) from None
        takes.append(Take(bvh, bvh.stem.split("_")[0], content, style))
    if not takes:
        raise LeadError(f"{data} holds no .bvh takes")
    return takes


def _dataset_folder(root: Path) -> Path:
    """The folder holding cfg/ and data/: `root` itself or one level below (as the archives unpack)."""
    if (root / "cfg").is_dir() and (root / "data").is_dir():
        return root
    inside = [p for p in sorted(root.iterdir()) if (p / "cfg").is_dir() and (p / "data").is_dir()]
    if len(inside) != 1:
        raise LeadError(
            f"{root}: expected a Bandai-Namco dataset folder with cfg/ and data/ (or its .tar.xz)"
        )
    return inside[0]


def open_source(source: str | Path, stack: ExitStack) -> Path:
    """An extracted dataset folder for `source` (a folder, or a .tar.xz extracted to a temp dir)."""
    source = Path(source)
    if source.is_dir():
        return _dataset_folder(source)
    if source.is_file() and source.name.endswith((".tar.xz", ".tar.gz", ".tar")):
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lead-bandai-")))
        try:
            with tarfile.open(source) as archive:
                archive.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, ValueError, lzma.LZMAError, zlib.error) as error:
            reason = str(error).splitlines()[-1].strip(" -") or type(error).__name__  # tarfile's text runs on lines
            raise LeadError(f"{source}: not a readable {source.name.split('.', 1)[1]} archive ({reason}); download "
                            "it again or give the extracted folder") from None
        return _dataset_folder(tmp)
    raise LeadError(f"{source}: not a Bandai-Namco dataset folder or .tar.xz archive")


def clip_windows(frames: int) -> list[tuple[int, int]]:
    """Joint-frame windows ``[start, end)`` of a take of `frames` frames (rules in the module docstring)."""
    if frames < MIN_TAKE:
        return []
    if frames <= WINDOW:
        return [(0, frames)]
    windows = [(start, start + WINDOW) for start in range(0, frames - WINDOW + 1, STRIDE)]
    if frames - windows[-1][1] >= MIN_TAIL:
        windows.append((frames - WINDOW, frames))
    return windows


def assign_splits(takes: list[Take], seed: int) -> dict[str, str]:
    """take name -> "train" / "val" / "test" (stratified rule in the module docstring)."""
    rng = np.random.default_rng([seed, 1])
    result: dict[str, str] = {}
    fine: dict[tuple, list[Take]] = defaultdict(list)
    for take in takes:
        fine[(take.dataset, take.content, take.style)].append(take)
    pooled: dict[tuple, list[Take]] = defaultdict(list)
    for key in sorted(fine):
        group = fine[key]
        if len(group) < MIN_STRATUM:
            pooled[key[:2]].extend(group)
        else:
            _split_group(group, rng, result)
    for key in sorted(pooled):
        group = pooled[key]
        if len(group) < MIN_STRATUM:
            result.update((take.name, "train") for take in group)
        else:
            _split_group(group, rng, result)
    # Tiny inputs (a handful of takes) would leave val/test empty: move one train take of the content
    # with the most train takes into each empty split.
    for split in SPLIT_FRACTIONS:
        train = [take for take in takes if result[take.name] == "train"]
        if split in result.values() or len(train) < 2:
            continue
        by_content: dict[tuple, list[Take]] = defaultdict(list)
        for take in train:
            by_content[(take.dataset, take.content)].append(take)
        largest = max(sorted(by_content), key=lambda key: len(by_content[key]))
        result[by_content[largest][-1].name] = split
    return result


def _split_group(group: list[Take], rng: np.random.Generator, result: dict[str, str]) -> None:
    order = rng.permutation(len(group))
    counts = {split: int(len(group) * fraction + 0.5) for split, fraction in SPLIT_FRACTIONS.items()}
    labels = ["val"] * counts["val"] + ["test"] * counts["test"]
    labels += ["train"] * (len(group) - len(labels))
    for index, label in zip(order, labels):
        result[group[index].name] = label


def _clip_seed(seed: int, clip: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(clip.encode())])


REVERSED_CONTENT = {"walk": "walk-back"}  # content played backwards in time -> the content it shows


def process_take(take: Take, out: Path, split: str, seed: int, reversed_walks: bool = False) -> TakeResult:
    """Retarget, window, featurise and caption one take; write its clips into `out` (and, for a
    train walk with `reversed_walks`, its time-reversed clips: module docstring)."""
    from lead.motion.retarget import bvh_to_humanml3d_joints

    joints = np.asarray(bvh_to_humanml3d_joints(take.bvh, joint_map="bandai", fps=FPS), dtype=np.float32)
    result = TakeResult(take.name)
    _write_clips(take, joints, out, split, seed, result, name=take.name, content=take.content, stats=True)
    if reversed_walks and split == "train" and take.content in REVERSED_CONTENT:
        _write_clips(take, joints[::-1].copy(), out, split, seed, result, name=f"{take.name}_reversed",
                     content=REVERSED_CONTENT[take.content], stats=False,
                     extra={"augmented": "time-reversed walk"})  # fmt: skip
    return result


def _write_clips(
    take: Take, joints: np.ndarray, out: Path, split: str, seed: int, result: TakeResult, name: str,
    content: str, stats: bool, extra: dict | None = None,
) -> None:  # fmt: skip
    """Window, featurise and caption `joints` (one take, or its reversal) as clips `name[_wNN]`; add the
    frames to `result`'s train statistics when `stats`."""
    from lead.motion.features import features_to_joints, joints_to_features

    windows = clip_windows(len(joints))
    for index, (start, end) in enumerate(windows):
        clip = name if len(windows) == 1 else f"{name}_w{index:02d}"
        features = joints_to_features(joints[start:end])
        if not np.isfinite(features).all():
            raise LeadError(f"{take.bvh}: features of frames {start}-{end} of {clip} contain NaN/inf")
        save_npy(out / "new_joint_vecs" / f"{clip}.npy", features)
        save_npy(out / "new_joints" / f"{clip}.npy", features_to_joints(features).astype(np.float32))
        captions = make_captions(content, take.style, _clip_seed(seed, clip))
        save_text(out / "texts" / f"{clip}.txt", "".join(c.to_line() + "\n" for c in captions))
        result.clips.append(
            {"clip": clip, "content": content, "style": take.style, "dataset": take.dataset,
             "take": take.name, "start": start, "end": end, "frames": len(features), "split": split,
             **(extra or {})}
        )  # fmt: skip
        if stats and split == "train":
            values = features.astype(np.float64)
            result.count += len(values)
            result.total = values.sum(0) + (0 if result.total is None else result.total)
            result.squares = (values**2).sum(0) + (0 if result.squares is None else result.squares)
    return result


def _worker(job: tuple[Take, Path, str, int, bool]) -> TakeResult:
    return process_take(*job)


def _init_worker() -> None:
    import signal

    import torch

    torch.set_num_threads(1)  # the workers already use every core we were given
    # A forked worker inherits the CLI's SIGTERM handler (raise Terminated); the pool ends its workers with
    # SIGTERM, which then printed a Terminated traceback from a worker's exit handlers. Die quietly instead.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def grouped_std(mean_sq: np.ndarray, mean: np.ndarray, joints: int = 22) -> np.ndarray:
    """Per-channel std, then averaged within each HumanML3D feature group (reference `mean_variance`)."""
    std = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    bounds = [
        0,
        1,
        3,
        4,
        4 + (joints - 1) * 3,
        4 + (joints - 1) * 9,
        4 + (joints - 1) * 9 + joints * 3,
        len(std),
    ]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        std[lo:hi] = std[lo:hi].mean()
    return std


def prepare_bandai_namco(
    sources: list[str | Path], out: str | Path, workers: int = 2, seed: int = 0, overwrite: bool = False,
    progress: bool = True, reversed_walks: bool = False,
) -> dict:  # fmt: skip
    """Build the dataset in ``<out>.tmp``, rename it to `out` when complete; return the counts per split."""
    from tqdm import tqdm

    out = Path(out)
    if out.exists() and not overwrite:
        raise LeadError(f"{out} already exists; pass --overwrite to replace it or choose another --out")
    started = time.monotonic()
    with ExitStack() as stack:
        folders = [open_source(source, stack) for source in sources]
        takes = [take for folder in folders for take in find_takes(folder)]
        names = [take.name for take in takes]
        if len(set(names)) != len(names):
            raise LeadError("the same take appears twice; pass each Bandai-Namco dataset once")
        splits = assign_splits(takes, seed)
        tmp = out.with_name(out.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        stack.callback(lambda: shutil.rmtree(tmp, ignore_errors=True))  # a failed run leaves no staging folder
        for sub in ("new_joint_vecs", "new_joints", "texts"):
            (tmp / sub).mkdir(parents=True)
        jobs = [(take, tmp, splits[take.name], seed, reversed_walks) for take in takes]
        bar = tqdm(total=len(jobs), desc="bandai-namco takes", unit="take", disable=not progress)
        results: list[TakeResult] = []
        if workers <= 1:
            for job in jobs:
                results.append(_worker(job))
                bar.update()
        else:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with context.Pool(workers, initializer=_init_worker) as pool:
                for result in pool.imap_unordered(_worker, jobs, chunksize=4):
                    results.append(result)
                    bar.update()
        bar.close()
        summary = _write_metadata(tmp, folders, takes, results, seed, time.monotonic() - started)
        if out.exists():
            old = out.with_name(out.name + ".old")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    return summary


def _write_metadata(
    tmp: Path, folders: list[Path], takes: list[Take], results: list[TakeResult], seed: int, seconds: float
) -> dict:
    results.sort(key=lambda r: r.take)
    clips = [clip for result in results for clip in result.clips]
    for split in ("train", "val", "test"):
        ids = [clip["clip"] for clip in clips if clip["split"] == split]
        save_text(tmp / f"{split}.txt", "".join(f"{clip}\n" for clip in ids))
    save_text(tmp / "all.txt", "".join(f"{clip['clip']}\n" for clip in clips))
    train = [r for r in results if r.count]
    if not train:
        raise LeadError("no train clips were produced; cannot compute Mean/Std (are the sources empty?)")
    count = sum(r.count for r in train)
    mean = sum(r.total for r in train) / count
    std = grouped_std(sum(r.squares for r in train) / count, mean)
    save_npy(tmp / "Mean.npy", mean.astype(np.float32))
    save_npy(tmp / "Std.npy", std.astype(np.float32))
    save_json(tmp / "labels.json", {clip.pop("clip"): clip for clip in [dict(c) for c in clips]})

    summary: dict = {"takes": len(takes), "seconds": round(seconds, 1), "splits": {}}
    for split in ("train", "val", "test"):
        chosen = [c for c in clips if c["split"] == split]
        frames = sum(c["frames"] for c in chosen)
        summary["splits"][split] = {
            "takes": len({c["take"] for c in chosen}), "clips": len(chosen), "frames": frames,
            "hours": round(frames / FPS / 3600, 3),
        }  # fmt: skip
    captions = sum(len((tmp / "texts" / f"{c['clip']}.txt").read_text().splitlines()) for c in clips)
    summary["captions"] = captions
    summary["augmented_clips"] = sum("augmented" in c for c in clips)
    dropped = len(takes) - len({c["take"] for c in clips})
    save_text(tmp / "README.md", _readme(folders, takes, summary, dropped, seed))
    license_text = (
        (folders[0] / "LICENSE").read_text(encoding="utf-8") if (folders[0] / "LICENSE").is_file() else ""
    )
    save_text(tmp / "LICENSE", _ATTRIBUTION + "\n" + license_text)
    return summary


_ATTRIBUTION = """This dataset is derived from the Bandai-Namco-Research-Motiondataset (datasets 1 and 2)
by Bandai Namco Research Inc. (https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset),
licensed under CC BY-NC 4.0. Changes: retargeted to the SMPL 22-joint skeleton at 20 fps, cut into
clips, converted to HumanML3D features, and given generated English captions. The derived data is
distributed under the same license (Creative Commons Attribution-NonCommercial 4.0 International),
reproduced below. Non-commercial use only.
"""


def _augmented_text(count: int) -> str:
    if not count:
        return ""
    return (f"Augmented (`--reversed-walks`): {count} of the train clips are train walks played backwards in time,\n"
            "labelled `walk-back` with `\"augmented\": \"time-reversed walk\"` in labels.json; they are not in\n"
            "Mean/Std, and val/test hold only real takes.\n\n")


def _readme(folders: list[Path], takes: list[Take], summary: dict, dropped: int, seed: int) -> str:
    rows = "\n".join(
        f"| {split} | {s['takes']} | {s['clips']} | {s['frames']} | {s['hours']:.2f} |"
        for split, s in summary["splits"].items()
    )
    datasets = ", ".join(sorted({take.dataset for take in takes}))
    return f"""# Bandai-Namco motion in HumanML3D format

Built by `lead data prepare bandai-namco` (seed {seed}) from {len(takes)} takes of {datasets}
({", ".join(folder.name for folder in folders)}), by Bandai Namco Research Inc.,
CC BY-NC 4.0 (see LICENSE): non-commercial use only, with attribution; anything trained on it
carries the same terms.

## Contents
- `new_joint_vecs/<clip>.npy` HumanML3D features [T, 263] (20 fps); `new_joints/<clip>.npy` the joints
  [T, 22, 3] recovered from them; `texts/<clip>.txt` 3-5 generated captions `caption#word/POS ...#0.0#0.0`.
- `train.txt`, `val.txt`, `test.txt` (and `all.txt`) clip ids; `Mean.npy`, `Std.npy` from train.
- `labels.json`: per clip its `content` and `style` label, `dataset`, source `take`, joint-frame
  window `start`/`end` within the retargeted take, `frames` and `split`.

## How it was built
Each take was retargeted to the SMPL 22-joint layout at 20 fps. Takes up to {WINDOW} frames
({WINDOW / FPS:.2f} s) are one clip; longer takes are cut into {WINDOW}-frame windows every {STRIDE} frames
({STRIDE / FPS:.0f} s), plus a final window aligned to the end of the take when at least {MIN_TAIL} frames
({MIN_TAIL / FPS:.0f} s) would otherwise be left out; shorter remainders are dropped. Takes shorter than
{MIN_TAKE} frames are dropped ({dropped} here). Captions are generated from the content/style labels
(several templates and paraphrases; "normal" style is usually not mentioned).

Splits are by take, stratified by (dataset, content, style); groups under {MIN_STRATUM} takes are
pooled by (dataset, content), and contents with under {MIN_STRATUM} takes go to train.
Mean/Std: per-channel mean and std over all train frames, the std averaged within each feature group
as in the HumanML3D reference.

{_augmented_text(summary["augmented_clips"])}Many clips (most raise-up-hand takes) are shorter than 40 frames, the
default HumanML3D loader minimum: train with a lower `min_length` (e.g. 16) to use them.

## Counts ({summary["captions"]} captions in all)
| split | takes | clips | frames | hours |
|---|---|---|---|---|
{rows}
"""
