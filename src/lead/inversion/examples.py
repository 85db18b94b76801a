"""Example motions for inversion: HumanML3D feature files, joint files or BVH takes, and random crops."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lead.errors import LeadError

JOINT_MAPS = ("auto", "bandai", "cmu")
UNIT = 4  # crop lengths are multiples of 4 frames, as the dataset loader and the evaluator use
MIN_CROP = 40  # the HumanML3D minimum clip length (2 s)


@dataclass
class ExampleMotion:
    """One example: raw (not normalised) features `[T, D]` and the file it came from."""

    name: str
    features: np.ndarray


def load_example(
    path: str | os.PathLike, skeleton: str = "humanml3d", joint_map: str = "auto"
) -> ExampleMotion:
    """Read `.npy` features `[T, D]` or joints `[T, J, 3]`, or a `.bvh` take (retargeted to SMPL-22)."""
    from lead.motion.features import joints_to_features
    from lead.motion.skeleton import get_skeleton

    path = Path(path)
    skel = get_skeleton(skeleton)
    if not path.is_file():
        raise LeadError(f"example motion {path} not found (give .npy HumanML3D features or .bvh files)")
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        if skeleton != "humanml3d":
            raise LeadError(f"{path}: BVH examples need a humanml3d model; this model uses {skeleton}")
        from lead.motion.retarget import bvh_to_humanml3d_joints

        if joint_map not in JOINT_MAPS:
            raise LeadError(f"--map {joint_map!r}: expected one of {', '.join(JOINT_MAPS)}")
        joints = bvh_to_humanml3d_joints(path, joint_map=joint_map, fps=skel.fps)
        features = joints_to_features(joints, skeleton)
    elif suffix == ".npy":
        from lead.io import load_array

        array = load_array(path, "example motion")  # no pickle; text, truncated or empty files named
        if array.ndim == 3 and array.shape[1:] == (skel.num_joints, 3):
            features = joints_to_features(array, skeleton)
        elif array.ndim == 2 and array.shape[1] == skel.feature_dim:
            features = array
        else:
            raise LeadError(
                f"{path} has shape {array.shape}; expected HumanML3D features [T, {skel.feature_dim}] "
                f"or joints [T, {skel.num_joints}, 3]"
            )
    else:
        raise LeadError(f"example motion {path}: unsupported file type {path.suffix!r}; use .npy or .bvh")
    features = np.asarray(features, dtype=np.float32)
    if not np.isfinite(features).all():
        raise LeadError(f"example motion {path} holds NaN or infinite values")
    if features.shape[0] < UNIT:
        raise LeadError(f"example motion {path} has {features.shape[0]} frames; at least {UNIT} are needed")
    return ExampleMotion(path.name, features)


def load_examples(
    paths: list[str | os.PathLike], skeleton: str = "humanml3d", joint_map: str = "auto"
) -> list[ExampleMotion]:
    if not paths:
        raise LeadError("no example motions given: lead invert MOTION.npy|MOTION.bvh [...]")
    return [load_example(p, skeleton, joint_map) for p in paths]


def crop_length(length: int, max_length: int, rng: np.random.Generator, min_crop: int = MIN_CROP) -> int:
    """A random crop length: a multiple of 4 in [min_crop, min(length, max_length)], or the whole clip
    (capped at `max_length`) when it is shorter than `min_crop`."""
    longest = min(length, max_length)
    if longest < min_crop:
        return longest
    low, high = -(-min_crop // UNIT), longest // UNIT
    return int(rng.integers(low, high + 1)) * UNIT


def random_crops(
    examples: list[np.ndarray], count: int, max_length: int, rng: np.random.Generator, min_crop: int = MIN_CROP
) -> tuple[list[np.ndarray], list[int]]:
    """`count` random crops (example, length, start drawn from `rng`): (crops `[T_i, D]`, lengths)."""
    crops, lengths = [], []
    for _ in range(count):
        motion = examples[int(rng.integers(len(examples)))]
        length = crop_length(motion.shape[0], max_length, rng, min_crop)
        start = int(rng.integers(motion.shape[0] - length + 1))
        crops.append(motion[start : start + length])
        lengths.append(length)
    return crops, lengths
