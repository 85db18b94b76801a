"""`lead data import-bvh FILE.bvh [...] --out DIR`: BVH takes -> HumanML3D joints and features."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lead.errors import LeadError

EPILOG = """examples:
  lead data import-bvh take.bvh --out my_motions
  lead data import-bvh mocap/*.bvh --out my_motions --map cmu
  lead data import-bvh mocap_folder/ --out my_motions --map my_map.json

Writes DIR/new_joints/NAME.npy (T, 22, 3: metres, Y up, 20 fps, SMPL joint order) and
DIR/new_joint_vecs/NAME.npy (T-1, 263 HumanML3D features), NAME being the file name without
.bvh. Positions are resampled to 20 fps by linear interpolation; units (m/cm/mm/inch/CMU) and
a Z-up axis are detected. A map file is JSON: {"pelvis": "Hips", "spine2": ["Spine", "Chest"], ...}
for all 22 SMPL joints (a list means the mean of those joints)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-bvh",
        help="convert BVH motion capture files to HumanML3D joints and 263-d features",
        description="Retarget BVH takes onto the HumanML3D (SMPL 22-joint) skeleton and compute their "
        "HumanML3D features.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", metavar="FILE", nargs="+", help="BVH files, or folders of .bvh files")
    parser.add_argument("--out", required=True, metavar="DIR", help="output dataset folder")
    parser.add_argument(
        "--map", default="auto", metavar="MAP",
        help="joint map: auto (default: built-in map if the joint names fit, else by name patterns), "
        "bandai, cmu, or a JSON file",
    )  # fmt: skip
    parser.add_argument(
        "--skeleton", choices=("humanml3d",), default="humanml3d", help="target skeleton (only humanml3d)"
    )
    parser.add_argument(
        "--units", default=None, help="source units: m, cm, mm, inch, cmu, ft (default: detect)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _inputs(items: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.bvh"))
            if not found:
                raise LeadError(f"folder {path} holds no .bvh files")
            files.extend(found)
        else:
            files.append(path)
    stems: dict[str, Path] = {}
    for file in files:
        if file.stem in stems and stems[file.stem] != file:
            raise LeadError(
                f"{stems[file.stem]} and {file} would both be written as {file.stem}.npy; rename one"
            )
        stems[file.stem] = file
    return list(stems.values())


def _joint_map(value: str) -> str | dict:
    if value.lower() in ("auto", "bandai", "cmu"):
        return value.lower()
    path = Path(value)
    if not path.is_file():
        raise LeadError(f"--map {value!r}: expected auto, bandai, cmu or a JSON map file")
    from lead.io import read_json
    from lead.motion.skeleton import get_skeleton

    mapping = read_json(path, "joint map")
    if not isinstance(mapping, dict):
        raise LeadError(f"--map {path}: expected a JSON object from SMPL joint names to BVH joint names")
    smpl = get_skeleton("humanml3d").joint_names
    unknown = sorted(set(mapping) - set(smpl))
    if unknown:
        verb = "is not an SMPL joint name" if len(unknown) == 1 else "are not SMPL joint names"
        raise LeadError(f"--map {path}: {', '.join(map(repr, unknown[:5]))} {verb}; the keys are {', '.join(smpl)}")
    return {key: _joint_source(path, key, value) for key, value in mapping.items()}


def _joint_source(path: Path, key: str, value) -> str | tuple[str, ...] | dict[str, float]:
    """A map entry: a BVH joint name, a list of names (their mean) or {name: weight} with weights summing to 1."""
    import math

    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value and all(isinstance(name, str) and name for name in value):
        return tuple(value)
    if isinstance(value, dict) and value and all(
        isinstance(name, str) and isinstance(weight, int | float) and not isinstance(weight, bool)
        and math.isfinite(weight) for name, weight in value.items()
    ) and abs(sum(value.values()) - 1.0) < 1e-3:
        return {name: float(weight) for name, weight in value.items()}
    raise LeadError(f"--map {path}: {key!r} maps to {json.dumps(value)[:60]}; expected a BVH joint name, a list "
                    'of names (their mean), or {"name": weight, ...} with weights summing to 1')


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from lead.io import save_npy
    from lead.motion.features import joints_to_features
    from lead.motion.retarget import bvh_to_humanml3d_joints

    files = _inputs(args.files)
    joint_map = _joint_map(args.map)
    from lead.io import check_output

    check_output(args.out)
    units: str | float | None = args.units
    if units is not None:
        import math

        from lead.motion.retarget import UNITS

        try:
            units = float(units)
        except ValueError:
            if units not in UNITS:
                raise LeadError(f"--units {units!r}: expected one of {', '.join(UNITS)} or metres per file unit "
                                "(a number > 0)") from None
        else:
            if not (math.isfinite(units) and units > 0):
                raise LeadError(f"--units {args.units}: metres per file unit must be a finite number > 0 "
                                f"(or one of {', '.join(UNITS)})")
    out = Path(args.out)
    failures: list[tuple[Path, str]] = []
    progress = tqdm(files, desc="import-bvh", unit="file", disable=args.quiet, file=sys.stderr)
    for file in progress:
        try:
            joints = bvh_to_humanml3d_joints(file, joint_map=joint_map, fps=20.0, units=units)
            if len(joints) < 2:
                raise LeadError(f"{file}: only {len(joints)} frame at 20 fps; a motion needs at least 2")
            features = joints_to_features(joints, skeleton=args.skeleton)
            save_npy(out / "new_joints" / f"{file.stem}.npy", joints)
            save_npy(out / "new_joint_vecs" / f"{file.stem}.npy", features)
        except LeadError as error:
            message = str(error) if str(file) in str(error) else f"{file}: {error}"
        except Exception as error:  # one bad take must not stop a batch; say what broke
            message = f"{file}: unexpected {type(error).__name__}: {error}"
        else:
            continue
        failures.append((file, message))
        tqdm.write(f"lead: error: {message}", file=sys.stderr)
    done = len(files) - len(failures)
    print(f"imported {done} of {len(files)} BVH files into {out}/new_joints and {out}/new_joint_vecs")
    if failures:
        kept = f"; the other {done} were written" if done else "; nothing was written"
        if len(failures) == 1:  # its own reason, not a pointer to a line that a reader may not have
            reason = failures[0][1] if len(failures[0][1]) <= 300 else failures[0][1][:297] + "..."  # whole above
        else:
            reason = ", ".join(str(f) for f, _ in failures[:5]) + (", ..." if len(failures) > 5 else "")
            reason += ": each error above"
        print(f"lead: error: {len(failures)} of {len(files)} BVH files failed to import ({reason}){kept}",
              file=sys.stderr)
        return 1
    return 0
