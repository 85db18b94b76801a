"""Retarget BVH motion onto the HumanML3D (SMPL 22-joint) layout as joint positions.

The result is what HumanML3D's `new_joints` hold before feature extraction: `(T, 22, 3)` float32,
metres, Y up, 20 fps, joints in SMPL order. Facing, floor and bone lengths are *not* normalised
here; `lead.motion.features.joints_to_features` does that (uniform skeleton, floor, +Z facing).

A joint map sends each SMPL joint name to a source joint name, to a tuple of names (their mean,
e.g. a spine2 between two spine joints) or to a {name: weight} dict (weights summing to 1).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np

from lead.errors import LeadError
from lead.motion.bvh import BvhMotion, read_bvh
from lead.motion.skeleton import HUMANML3D_JOINT_NAMES

JointSource = str | tuple[str, ...] | Mapping[str, float]
JointMap = Mapping[str, JointSource]


def _joint_list(names: list[str], shown: int = 40) -> str:
    """The file's joint names for an error line, cut after `shown` (a file may hold thousands)."""
    return ", ".join(names[:shown]) + (f", ... ({len(names)} joints in all)" if len(names) > shown else "")


def _sided(template: dict[str, JointSource], left: str, right: str) -> dict[str, JointSource]:
    out: dict[str, JointSource] = {}
    for smpl, source in template.items():
        if "{s}" in smpl:
            out[smpl.format(s="left")] = source.format(s=left)
            out[smpl.format(s="right")] = source.format(s=right)
        else:
            out[smpl] = source
    return out


# Bandai-Namco Research Motiondataset: the virtual joint_Root (on the floor) is not mapped; the
# skeleton has two spine joints where SMPL has three, so spine2 lies halfway between them.
BANDAI_MAP: dict[str, JointSource] = _sided(
    {
        "pelvis": "Hips",
        "spine1": "Spine",
        "spine2": ("Spine", "Chest"),
        "spine3": "Chest",
        "neck": "Neck",
        "head": "Head",
        "{s}_hip": "UpperLeg_{s}",
        "{s}_knee": "LowerLeg_{s}",
        "{s}_ankle": "Foot_{s}",
        "{s}_foot": "Toes_{s}",
        "{s}_collar": "Shoulder_{s}",
        "{s}_shoulder": "UpperArm_{s}",
        "{s}_elbow": "LowerArm_{s}",
        "{s}_wrist": "Hand_{s}",
    },
    "L",
    "R",
)

# CMU mocap (the common 31-joint BVH conversion). LowerBack, Neck and the Left/RightShoulder
# joints sit exactly on their parents (zero OFFSET), so they would give zero-length SMPL bones:
# spine1/spine3 are Spine/Spine1 with spine2 between them, the neck is Neck1, and each collar lies
# halfway along the clavicle bone (LeftShoulder -> LeftArm).
CMU_MAP: dict[str, JointSource] = {
    "pelvis": "Hips",
    "spine1": "Spine",
    "spine2": ("Spine", "Spine1"),
    "spine3": "Spine1",
    "neck": "Neck1",
    "head": "Head",
    **_sided(
        {
            "{s}_hip": "{s}UpLeg",
            "{s}_knee": "{s}Leg",
            "{s}_ankle": "{s}Foot",
            "{s}_foot": "{s}ToeBase",
            "{s}_shoulder": "{s}Arm",
            "{s}_elbow": "{s}ForeArm",
            "{s}_wrist": "{s}Hand",
        },
        "Left",
        "Right",
    ),
    "left_collar": ("LeftShoulder", "LeftArm"),
    "right_collar": ("RightShoulder", "RightArm"),
}

BUILTIN_MAPS: dict[str, dict[str, JointSource]] = {"bandai": BANDAI_MAP, "cmu": CMU_MAP}

# Metres per file unit, tried in turn by `detect_units`. "cmu" is the CMU ASF unit (1/0.45 inch).
UNITS: dict[str, float] = {
    "m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45, "ft": 0.3048,
}  # fmt: skip
# Ankle->knee->hip plus pelvis->spine->neck->head bone lengths of an adult, metres (HumanML3D's
# target skeleton gives 1.47; the Bandai and CMU actors 1.27).
_TYPICAL_CHAIN_LENGTH = 1.35


# ------------------------------------------------------------------------------ automatic joint maps

_NOISE_TOKENS = {"joint", "jnt", "bone", "bn", "def", "mixamorig", "j", "b", "mch", "org"}
_PART_CANDIDATES = {
    "hip": ("upleg", "upperleg", "thigh", "hip", "uleg"),
    "knee": ("knee", "leg", "lowerleg", "loleg", "lowleg", "shin", "calf"),
    "ankle": ("ankle", "foot"),
    "foot": ("toebase", "toes", "toe", "toe0", "ball", "foot"),
    "shoulder": ("upperarm", "uparm", "arm", "shldr", "shoulder"),
    "collar": ("collar", "clavicle", "shoulder", "scapula"),
    "elbow": ("forearm", "lowerarm", "loarm", "elbow"),
    "wrist": ("wrist", "hand"),
}
_SIDED_ORDER = ("hip", "knee", "ankle", "foot", "shoulder", "collar", "elbow", "wrist")


def _name_parts(name: str) -> tuple[str, str]:
    """(side, body part) of a joint name: "mixamorig:LeftUpLeg" -> ("left", "upleg")."""
    name = re.split(r"[:|]", name)[-1]
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)
    side, rest = "", []
    for token in re.split(r"[^a-z0-9]+", name.lower()):
        if token in ("l", "left"):
            side = "left"
        elif token in ("r", "right"):
            side = "right"
        elif token and token not in _NOISE_TOKENS and not re.fullmatch(r"(bip|character)\d*", token):
            rest.append(token)
    return side, "".join(rest)


def auto_joint_map(motion: BvhMotion) -> dict[str, JointSource]:
    """Guess the SMPL joint map from joint names and the hierarchy.

    Limbs are found by name patterns (LeftUpLeg, UpperLeg_L, l_hip, L_Thigh, mixamorig:LeftArm, ...);
    the spine joints are those on the path from the pelvis to the neck. Raises LeadError listing
    the SMPL joints it could not map and the joint names it saw.
    """
    parts = [_name_parts(name) for name in motion.names]
    # Joints with a zero-length bone duplicate their parent's position (CMU's LHipJoint, Neck, ...).
    lengths = np.linalg.norm(motion.translations[0], axis=-1)
    zero = lengths < 1e-6 * max(float(lengths.max()), 1e-12)
    zero[motion.parents < 0] = False
    used: set[int] = set()

    def find(side: str, candidates: tuple[str, ...]) -> int | None:
        for candidate in candidates:
            matches = [j for j, (s, p) in enumerate(parts) if s == side and p == candidate and j not in used]
            matches.sort(key=lambda j: (bool(zero[j]), j))
            if matches:
                used.add(matches[0])
                return matches[0]
        return None

    found: dict[str, int] = {}
    for key, candidates in (("pelvis", ("hips", "pelvis", "hip", "root")), ("head", ("head",))):
        index = find("", candidates)
        if index is not None:
            found[key] = index
    for side in ("left", "right"):
        for part in _SIDED_ORDER:
            index = find(side, _PART_CANDIDATES[part])
            if index is not None:
                found[f"{side}_{part}"] = index

    result: dict[str, JointSource] = {smpl: motion.names[j] for smpl, j in found.items()}
    for side in ("left", "right"):
        collar, shoulder = found.get(f"{side}_collar"), found.get(f"{side}_shoulder")
        if collar is not None and shoulder is not None and zero[collar]:
            result[f"{side}_collar"] = (motion.names[collar], motion.names[shoulder])
    if "pelvis" in found and "head" in found:
        result.update(_spine_map(motion, found["pelvis"], found["head"], parts, zero))
    missing = [name for name in HUMANML3D_JOINT_NAMES if name not in result]
    if missing:
        raise LeadError(
            f"cannot map the BVH skeleton onto HumanML3D automatically: no joint found for "
            f"{', '.join(missing)}. BVH joints: {_joint_list(motion.names)}. Give a joint map from SMPL "
            "joint names to BVH joint names (a dict, or a JSON file for --map), or try --map bandai|cmu"
        )
    return result


def _spine_map(
    motion: BvhMotion, pelvis: int, head: int, parts: list[tuple[str, str]], zero: np.ndarray
) -> dict[str, JointSource]:
    path = []
    joint = int(motion.parents[head])
    while joint >= 0 and joint != pelvis:
        path.append(joint)
        joint = int(motion.parents[joint])
    if joint != pelvis:
        return {}
    path = [j for j in reversed(path) if not zero[j]]
    names = [motion.names[j] for j in path]
    necks = [k for k, j in enumerate(path) if parts[j][1].startswith("neck")]
    if necks:
        neck = necks[0]
    elif len(path) >= 2:
        neck = len(path) - 1
    else:
        return {}
    spine, pelvis_name, neck_name = names[:neck], motion.names[pelvis], names[neck]
    out: dict[str, JointSource] = {"neck": neck_name}
    if not spine:
        for k in (1, 2, 3):
            out[f"spine{k}"] = {pelvis_name: 1 - k / 4, neck_name: k / 4}
    elif len(spine) == 1:
        out.update(spine1=(pelvis_name, spine[0]), spine2=spine[0], spine3=(spine[0], neck_name))
    elif len(spine) == 2:
        out.update(spine1=spine[0], spine2=(spine[0], spine[1]), spine3=spine[1])
    else:
        out.update(spine1=spine[0], spine2=spine[len(spine) // 2], spine3=spine[-1])
    return out


def resolve_joint_map(motion: BvhMotion, joint_map: str | JointMap | None = None) -> dict[str, JointSource]:
    """The joint map to use: a built-in ("bandai", "cmu"), "auto", a dict, or None (a built-in
    map whose joints all exist in the file, else automatic)."""
    if joint_map is None:
        for builtin in BUILTIN_MAPS.values():
            if all(name in motion.names for name in _source_names(builtin)):
                return dict(builtin)
        return auto_joint_map(motion)
    if isinstance(joint_map, str):
        key = joint_map.lower()
        if key == "auto":
            return auto_joint_map(motion)
        if key not in BUILTIN_MAPS:
            choices = ", ".join(["auto", *BUILTIN_MAPS])
            raise LeadError(f"unknown joint map {joint_map!r}: expected {choices} or a dict")
        joint_map = BUILTIN_MAPS[key]
    missing = [name for name in HUMANML3D_JOINT_NAMES if name not in joint_map]
    absent = sorted(set(_source_names(joint_map)) - set(motion.names))
    if missing or absent:
        problems = []
        if missing:
            problems.append(f"the map lacks SMPL joints {', '.join(missing)}")
        if absent:
            problems.append(f"the BVH has no joints {', '.join(absent)}")
        raise LeadError(
            f"joint map does not fit this BVH: {'; '.join(problems)}. BVH joints: {_joint_list(motion.names)}. "
            "Try --map auto"
        )
    return dict(joint_map)


def _source_names(joint_map: JointMap) -> list[str]:
    names: list[str] = []
    for source in joint_map.values():
        names.extend([source] if isinstance(source, str) else list(source))
    return names


def joint_weights(motion: BvhMotion, joint_map: JointMap) -> np.ndarray:
    """`[22, J]` matrix taking source joint positions to SMPL joint positions."""
    weights = np.zeros((len(HUMANML3D_JOINT_NAMES), motion.num_joints))
    for row, smpl in enumerate(HUMANML3D_JOINT_NAMES):
        source = joint_map[smpl]
        if isinstance(source, str):
            source = {source: 1.0}
        elif not isinstance(source, Mapping):
            source = {name: 1.0 / len(source) for name in source}
        for name, weight in source.items():
            weights[row, motion.index(name)] += weight
    return weights


# ------------------------------------------------------------------------------ units, axes, time


def chain_length(joints: np.ndarray) -> float:
    """Ankle->knee->hip plus pelvis->spine1->spine2->spine3->neck->head bone length of SMPL-ordered
    `joints [..., 22, 3]` (first frame), legs averaged: a pose-independent body size."""
    pose = np.asarray(joints, dtype=np.float64).reshape(-1, 22, 3)[0]

    def length(path: tuple[int, ...]) -> float:
        return float(sum(np.linalg.norm(pose[b] - pose[a]) for a, b in zip(path[:-1], path[1:])))

    legs = 0.5 * (length((7, 4, 1)) + length((8, 5, 2)))
    return legs + length((0, 3, 6, 9, 12, 15))


def detect_units(joints: np.ndarray) -> tuple[str, float]:
    """(unit name, metres per unit) whose scale makes the body size closest to an adult's."""
    size = chain_length(joints)
    if not size > 0:
        raise LeadError("cannot detect units: the mapped skeleton has zero size; check the joint map")
    name = min(UNITS, key=lambda unit: abs(np.log(size * UNITS[unit] / _TYPICAL_CHAIN_LENGTH)))
    return name, UNITS[name]


def up_rotation(joints: np.ndarray) -> np.ndarray:
    """`[3, 3]` rotation taking the motion's up axis (the coordinate axis closest to the mean
    feet-to-head direction of `joints [T, 22, 3]`) onto +Y: identity for Y-up data."""
    up = (joints[:, 15] - 0.5 * (joints[:, 7] + joints[:, 8])).mean(axis=0)
    axis = int(np.argmax(np.abs(up)))
    sign = 1.0 if up[axis] > 0 else -1.0
    target = np.array([0.0, 1.0, 0.0])
    source = np.zeros(3)
    source[axis] = sign
    if np.allclose(source, target):
        return np.eye(3)
    if np.allclose(source, -target):
        return np.diag([-1.0, -1.0, 1.0])  # a half turn about Z
    # Quarter turn about source x target.
    k = np.cross(source, target)
    skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + skew + skew @ skew


def resample(positions: np.ndarray, source_fps: float, fps: float) -> np.ndarray:
    """Linear interpolation of `positions [T, ...]` from `source_fps` to `fps`; the output covers
    the same duration, `floor((T - 1) * fps / source_fps) + 1` frames, first frames aligned."""
    count = len(positions)
    out_count = int(np.floor((count - 1) * fps / source_fps + 1e-6)) + 1
    times = np.arange(out_count) * (source_fps / fps)
    lower = np.minimum(np.floor(times).astype(np.int64), count - 1)
    upper = np.minimum(lower + 1, count - 1)
    frac = (times - lower).reshape((-1,) + (1,) * (positions.ndim - 1))
    return positions[lower] * (1.0 - frac) + positions[upper] * frac


def bvh_to_humanml3d_joints(
    path_or_motion: str | os.PathLike | BvhMotion,
    joint_map: str | JointMap | None = None,
    fps: float | None = 20.0,
    units: str | float | None = None,
    up_axis_to_y: bool = True,
) -> np.ndarray:
    """BVH motion -> HumanML3D joint positions `(T', 22, 3)` float32, metres, Y up, SMPL order.

    joint_map: None, "auto", "bandai", "cmu" or a dict (see module docstring). fps: output rate
    (positions linearly interpolated; None keeps the file's rate). units: a key of `UNITS`, metres
    per unit, or None to detect from the body size. up_axis_to_y: turn Z-up (or X-up) data Y-up.
    """
    motion = path_or_motion if isinstance(path_or_motion, BvhMotion) else read_bvh(path_or_motion)
    mapping = resolve_joint_map(motion, joint_map)
    joints = np.einsum("sj,tjd->tsd", joint_weights(motion, mapping), motion.global_positions())
    if units is None:
        scale = detect_units(joints)[1]
    elif isinstance(units, str):
        if units not in UNITS:
            raise LeadError(f"unknown units {units!r}: expected one of {', '.join(UNITS)} or metres per unit")
        scale = UNITS[units]
    else:
        scale = float(units)
    joints = joints * scale
    if up_axis_to_y:
        joints = joints @ up_rotation(joints).T
    # Frame Time is usually printed with few digits (0.0333333): snap to the whole rate it means.
    source_fps = round(motion.fps) if abs(motion.fps - round(motion.fps)) < 1e-3 else motion.fps
    if fps is not None and abs(fps - source_fps) > 1e-9:
        joints = resample(joints, source_fps, fps)
    return joints.astype(np.float32)
