"""`lead render FILE.npy ...`: motion files (features or joints) to stick-figure videos."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lead.errors import LeadError

FEATURE_DIMS = {263: "humanml3d", 251: "kit"}
JOINT_COUNTS = {22: "humanml3d", 21: "kit"}
MAX_FPS = 240
ACCEPTED_SHAPES = "(T, 263) HumanML3D features, (T, 251) KIT features, (T, 22, 3) or (T, 21, 3) joints"

EPILOG = """examples:
  lead render out/000_a_person_walks.npy                      # -> out/000_a_person_walks.mp4
  lead render motion_joints.npy --out walk.gif --title "a person walks"
  lead render out/*.npy --out videos/                         # one video per file, in videos/
  lead render lead/000.npy mld/000.npy --grid --out compare.mp4 --title LEAD --title MLD

Inputs: (T, 263) / (T, 251) features (un-normalized, as in new_joint_vecs/; the joints are recovered
from them), or (T, 22, 3) / (T, 21, 3) joint positions (metres, Y up; KIT millimetres are detected).
Default titles: the caption from a samples.json manifest (lead generate) or texts/NAME.txt
(HumanML3D layout) next to the file, else the file name."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="render motion files (.npy features or joints) to mp4/gif stick-figure videos",
        description="Render motions to stick-figure videos: one per file, or several side by side (--grid).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE.npy", help="motion files: features or joints")
    parser.add_argument("--out", help="output .mp4/.gif (one video) or a folder (one video per input); "
                        "default: beside each input")
    parser.add_argument("--title", action="append", default=None,
                        help="title of a motion; repeat once per file (default: its caption or file name)")
    parser.add_argument("--grid", action="store_true", help="all files side by side in one video")
    parser.add_argument("--columns", type=int, default=None, help="grid columns (default: one row up to 4)")
    parser.add_argument("--skeleton", choices=("auto", "humanml3d", "kit"), default="auto",
                        help="skeleton of the inputs (default: from their shape)")
    parser.add_argument("--fps", type=float, default=None, help="frames per second (default: 20, KIT 12.5)")
    parser.add_argument("--format", choices=("mp4", "gif"), default="mp4",
                        help="video format where --out does not name a file (default mp4)")
    parser.set_defaults(func=run)


def load_motion(path: Path, skeleton: str = "auto"):
    """Joints `[T, J, 3]` and the skeleton name of a features or joints `.npy` file."""
    import numpy as np

    from lead.io import open_regular

    if not path.exists():
        raise LeadError(f"{path}: no such file")
    try:
        with open_regular(path, "motion") as handle:
            if handle.read(6) != b"\x93NUMPY":
                raise LeadError(f"{path}: not a .npy file; expected an array of {ACCEPTED_SHAPES}")
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise LeadError(f"{path}: cannot read the .npy array: {error}") from error
    if array.ndim in (3, 4) and array.shape[0] == 1 and (array.ndim == 4 or array.shape[-1] in FEATURE_DIMS):
        array = array[0]  # a batch of one, as some tools save it
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        raise LeadError(f"{path}: expected a non-empty float array of {ACCEPTED_SHAPES}, got {array.dtype}")
    if array.ndim == 2 and array.shape[1] in FEATURE_DIMS:
        name = FEATURE_DIMS[array.shape[1]] if skeleton == "auto" else skeleton
        from lead.motion.features import features_to_joints

        return features_to_joints(array.astype(np.float64), skeleton=name), name
    if array.ndim == 3 and array.shape[2] == 3 and array.shape[1] in JOINT_COUNTS:
        return array, JOINT_COUNTS[array.shape[1]] if skeleton == "auto" else skeleton
    raise LeadError(f"{path}: shape {array.shape} is not a motion; accepted shapes: {ACCEPTED_SHAPES}")


def default_title(path: Path) -> str:
    """The caption of a motion file, from a lead samples.json or a HumanML3D texts/ folder; else its name."""
    manifest = path.parent / "samples.json"
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            for sample in data.get("samples", []):
                if path.name in (sample.get("files") or {}).values() and sample.get("text"):
                    model = data.get("settings", {}).get("use_projector")
                    tag = "" if model is None else ("LEAD" if model else "MLD") + ", "
                    return f"{sample['text']}  [{tag}seed {sample.get('seed', '?')}]"
        except (OSError, ValueError, AttributeError, TypeError):
            pass  # a title is a nicety: a damaged manifest must not stop the render
    for texts in (path.parent / "texts", path.parent.parent / "texts"):
        caption_file = texts / f"{path.stem}.txt"
        if caption_file.is_file():
            lines = caption_file.read_text(encoding="utf-8", errors="replace").splitlines()
            if lines and lines[0].strip():
                return lines[0].split("#")[0].strip()
    return path.name


def _video_suffix(path: Path) -> bool:
    return path.suffix.lower() in (".mp4", ".gif")


def run(args: argparse.Namespace) -> int:
    files = [Path(name) for name in args.files]
    titles = args.title
    if titles is not None and len(titles) != len(files):
        raise LeadError(f"{len(files)} file(s) but {len(titles)} --title: give one --title per file, or none")
    if args.columns is not None and not 1 <= args.columns <= max(len(files), 1):
        raise LeadError(f"--columns must be in 1..{len(files)} (one per file at most), got {args.columns}")
    if args.fps is not None and not 0 < args.fps <= MAX_FPS:
        raise LeadError(f"--fps must be a number in (0, {MAX_FPS}], got {args.fps}")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix and not _video_suffix(out):
        raise LeadError(f"--out {out}: unsupported video format {out.suffix!r}; use .mp4, .gif or a folder")
    if args.grid:
        if out is None or not _video_suffix(out):
            raise LeadError("--grid needs --out FILE.mp4 (or .gif): the name of the one video")
        targets = [out]
    elif out is not None and _video_suffix(out):
        if len(files) > 1:
            raise LeadError(f"--out {out} names one video but {len(files)} files were given: "
                            "add --grid to put them side by side, or give a folder")
        targets = [out]
    else:  # one video per file, in the --out folder or beside each input
        if out is not None and out.exists() and not out.is_dir():
            raise LeadError(f"--out {out} exists and is not a folder")
        targets = [(out or file.parent) / f"{file.stem}.{args.format}" for file in files]

    from lead.io import check_output

    for target in dict.fromkeys(targets):
        check_output(target, "file")
    motions = [load_motion(file, args.skeleton) for file in files]
    titles = titles if titles is not None else [default_title(file) for file in files]
    from lead.motion.skeleton import get_skeleton
    from lead.render.plot import render_grid, render_motion

    fps = args.fps if args.fps is not None else get_skeleton(motions[0][1]).fps
    started = time.perf_counter()
    if args.grid:
        render_grid([joints for joints, _ in motions], targets[0], titles, skeleton=args.skeleton, fps=fps,
                    columns=args.columns)
        print(f"wrote {targets[0]} ({len(files)} motions, {time.perf_counter() - started:.1f} s)")
        return 0
    for (joints, name), title, target in zip(motions, titles, targets):
        render_motion(joints, target, title=title, skeleton=name, fps=fps)
        print(f"wrote {target} ({len(joints)} frames)")
    return 0
