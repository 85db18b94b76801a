"""The HumanML3D motion representation (263-d for HumanML3D, 251-d for KIT-ML).

Channel layout for J joints (reference `motion_representation.ipynb` / `process_file`):

    root  [0:4]   root angular velocity about Y (the reference stores arcsin of the y component of
                  the frame-to-frame root quaternion, i.e. half the angle), root XZ velocity in the
                  root's facing frame, root height
    ric   [4 : 4+3(J-1)]        joint positions relative to the root, in its facing frame
    rot   [.. : ..+6(J-1)]      local joint rotations, 6D (first two matrix columns)
    vel   [.. : ..+3J]          joint velocities in the root's facing frame
    feet  [D-4 : D]             binary contacts, left foot (2 joints) then right foot (2 joints)

A clip of T joint frames gives T-1 feature frames: frame t uses joints t and t+1.
Positions are in skeleton units: metres for HumanML3D, millimetres for KIT-ML (as in the
reference data; `Skeleton.metres_per_unit` converts).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from lead.errors import LeadError
from lead.motion import rotations as rot
from lead.motion.skeleton import (
    Skeleton,
    bone_offsets,
    facing_quaternions,
    forward_kinematics,
    forward_kinematics_cont6d,
    inverse_kinematics,
    resolve_skeleton,
)

FEATURE_GROUPS = ("root", "ric", "rot", "vel", "feet")


def feature_dim(skeleton: str | Skeleton = "humanml3d") -> int:
    """263 for HumanML3D, 251 for KIT-ML."""
    skel = resolve_skeleton(skeleton)
    j = skel.num_joints
    return 4 + 3 * (j - 1) + 6 * (j - 1) + 3 * j + 4


def feature_slices(skeleton: str | Skeleton = "humanml3d") -> dict[str, slice]:
    """Channel ranges by group name: root, ric, rot, vel, feet."""
    j = resolve_skeleton(skeleton).num_joints
    bounds = np.cumsum([0, 4, 3 * (j - 1), 6 * (j - 1), 3 * j, 4])
    return {name: slice(int(a), int(b)) for name, a, b in zip(FEATURE_GROUPS, bounds[:-1], bounds[1:])}


def split_features(features: np.ndarray | torch.Tensor, skeleton: str | Skeleton = "humanml3d") -> dict:
    """Views of `features [..., D]` by group, reshaped per joint where it applies:
    root `[..., 4]`, ric `[..., J-1, 3]`, rot `[..., J-1, 6]`, vel `[..., J, 3]`, feet `[..., 4]`."""
    _check_features(features, skeleton)
    slices = feature_slices(skeleton)
    lead = tuple(features.shape[:-1])
    return {
        "root": features[..., slices["root"]],
        "ric": features[..., slices["ric"]].reshape(lead + (-1, 3)),
        "rot": features[..., slices["rot"]].reshape(lead + (-1, 6)),
        "vel": features[..., slices["vel"]].reshape(lead + (-1, 3)),
        "feet": features[..., slices["feet"]],
    }


# ----------------------------------------------------------------------------- joints -> features


def _check_joints(joints: np.ndarray, skel: Skeleton) -> np.ndarray:
    if isinstance(joints, torch.Tensor):
        joints = joints.detach().cpu().numpy()
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (skel.num_joints, 3) or joints.shape[0] < 2:
        raise LeadError(
            f"joints: expected shape (T, {skel.num_joints}, 3) with T >= 2 for skeleton {skel.name!r}, "
            f"got {tuple(joints.shape)}"
        )
    if not np.isfinite(joints).all():
        raise LeadError("joints: contains NaN or infinite values; clean or drop the broken frames first")
    return joints.astype(np.float64)


def uniform_skeleton(
    joints: np.ndarray, skeleton: str | Skeleton = "humanml3d", target_offsets: np.ndarray | None = None
) -> np.ndarray:
    """Re-target `joints [T, J, 3]` onto the target bone lengths (reference `uniform_skeleton`).

    Bone directions are kept (IK then FK with the target offsets) and the root trajectory is
    scaled by the ratio of target to source leg length, measured on frame 0.
    """
    skel = resolve_skeleton(skeleton)
    target = skel.target_offsets if target_offsets is None else np.asarray(target_offsets, np.float64)
    source = bone_offsets(joints[0], skel)
    a, b = skel.leg_joints
    source_leg = np.abs(source[a]).max() + np.abs(source[b]).max()
    target_leg = np.abs(target[a]).max() + np.abs(target[b]).max()
    if source_leg <= 0:
        raise LeadError("joints: the legs have zero length in frame 0; is the joint order right?")
    quats = inverse_kinematics(joints, skel)
    return forward_kinematics(quats, joints[:, 0] * (target_leg / source_leg), target, skel)


def joints_to_features(
    joints: np.ndarray,
    skeleton: str | Skeleton = "humanml3d",
    feet_threshold: float = 0.002,
    target_offsets: np.ndarray | None = None,
) -> np.ndarray:
    """HumanML3D features of a clip: `joints [T, J, 3]` (Y up) -> float32 `[T-1, D]`.

    Reference `process_file`: uniform skeleton, floor at y = 0, first-frame root XZ at the origin,
    first frame facing +Z, then the channel groups described in the module docstring.
    `feet_threshold` bounds the squared per-frame displacement of a foot joint in contact, in
    square metres (HumanML3D's 0.002); for KIT-ML, whose joints are in millimetres, it is converted
    to mm^2. `target_offsets [J, 3]` (skeleton units) replaces the skeleton's target bones.
    For KIT, `joints` must be in millimetres like the reference KIT-ML data.
    """
    skel = resolve_skeleton(skeleton)
    positions = _check_joints(joints, skel)
    if target_offsets is not None:
        target_offsets = np.asarray(target_offsets, dtype=np.float64)
        if target_offsets.shape != (skel.num_joints, 3):
            raise LeadError(
                f"target_offsets: expected shape ({skel.num_joints}, 3), got {target_offsets.shape}"
            )
    positions = uniform_skeleton(positions, skel, target_offsets)

    positions[..., 1] -= positions[..., 1].min()
    positions = positions - positions[0, 0] * np.array([1.0, 0.0, 1.0])
    # The first frame faces +Z (this one uses the hips and shoulders as intended).
    face_init = facing_quaternions(positions[:1], skel, reference_ik=False)
    positions = rot.quat_rotate(face_init[:, None], positions)
    global_positions = positions

    threshold = feet_threshold / skel.metres_per_unit**2
    feet_left = _contacts(positions, skel.feet_left, threshold)
    feet_right = _contacts(positions, skel.feet_right, threshold)

    quats = inverse_kinematics(positions, skel, smooth_forward=True, identity_first_root=True)
    cont6d = rot.quat_to_cont6d(quats)
    root_rot = quats[:, 0]
    root_velocity = rot.quat_rotate(root_rot[1:], positions[1:, 0] - positions[:-1, 0])
    root_angular = rot.quat_multiply(root_rot[1:], rot.quat_inverse(root_rot[:-1]))

    # Root-invariant positions: remove the root's XZ, then turn into the root's facing frame.
    local = positions - positions[:, :1] * np.array([1.0, 0.0, 1.0])
    local = rot.quat_rotate(root_rot[:, None], local)

    root_data = np.concatenate(
        [np.arcsin(np.clip(root_angular[:, 2:3], -1.0, 1.0)), root_velocity[:, [0, 2]], local[:-1, 0, 1:2]],
        axis=-1,
    )
    count = len(positions) - 1
    ric_data = local[:-1, 1:].reshape(count, -1)
    rot_data = cont6d[:-1, 1:].reshape(count, -1)
    velocity = rot.quat_rotate(root_rot[:-1, None], global_positions[1:] - global_positions[:-1])
    data = np.concatenate(
        [root_data, ric_data, rot_data, velocity.reshape(count, -1), feet_left, feet_right], axis=-1
    )
    return data.astype(np.float32)


def _contacts(positions: np.ndarray, foot: tuple[int, int], threshold: float) -> np.ndarray:
    """`[T, J, 3]` -> `[T-1, 2]`: 1 where the squared displacement to the next frame < threshold."""
    step = positions[1:, list(foot)] - positions[:-1, list(foot)]
    return ((step**2).sum(-1) < threshold).astype(np.float64)


# ----------------------------------------------------------------------------- features -> joints


def _check_features(features, skeleton: str | Skeleton) -> None:
    dim = feature_dim(skeleton)
    if not isinstance(features, np.ndarray | torch.Tensor):
        raise LeadError(
            f"features: expected a numpy array or torch tensor [..., T, {dim}], got {type(features)}"
        )
    if features.ndim < 1 or features.shape[-1] != dim:
        raise LeadError(
            f"features: expected shape [..., T, {dim}] for skeleton {resolve_skeleton(skeleton).name!r}, "
            f"got {tuple(features.shape)}"
        )
    finite = (
        torch.isfinite(features).all() if isinstance(features, torch.Tensor) else np.isfinite(features).all()
    )
    if not bool(finite):
        raise LeadError("features: contain NaN or infinite values (a diverged model or a broken file?)")


def _as_tensor(features) -> tuple[torch.Tensor, bool]:
    is_numpy = isinstance(features, np.ndarray)
    x = torch.from_numpy(np.ascontiguousarray(features)) if is_numpy else features
    if not x.is_floating_point():
        x = x.double()
    if x.ndim < 2:
        raise LeadError(f"features: expected [..., T, D] with a time axis, got {tuple(x.shape)}")
    return x, is_numpy


def recover_root(features: np.ndarray | torch.Tensor) -> tuple:
    """Root rotation `[..., T, 4]` and position `[..., T, 3]` from `features [..., T, D]`
    (reference `recover_root_rot_pos`; the rotation turns world directions into the facing frame)."""
    x, is_numpy = _as_tensor(features)
    # Frame 0 has angle 0; frame t integrates the velocities of frames 0..t-1.
    angle = torch.cumsum(torch.cat([torch.zeros_like(x[..., :1, 0]), x[..., :-1, 0]], dim=-1), dim=-1)
    quat = torch.zeros(x.shape[:-1] + (4,), dtype=x.dtype, device=x.device)
    quat[..., 0] = torch.cos(angle)
    quat[..., 2] = torch.sin(angle)
    step = torch.zeros(x.shape[:-1] + (3,), dtype=x.dtype, device=x.device)
    step[..., 1:, 0] = x[..., :-1, 1]
    step[..., 1:, 2] = x[..., :-1, 2]
    position = torch.cumsum(rot.quat_rotate(rot.quat_inverse(quat), step), dim=-2)
    position = torch.cat([position[..., :1], x[..., 3:4], position[..., 2:3]], dim=-1)
    if is_numpy:
        return quat.numpy(), position.numpy()
    return quat, position


def features_to_joints(
    features: np.ndarray | torch.Tensor, skeleton: str | Skeleton = "humanml3d"
) -> np.ndarray | torch.Tensor:
    """Joint positions from the position channels: `[..., T, D]` -> `[..., T, J, 3]`
    (reference `recover_from_ric`). Numpy in, numpy out; torch in, torch out (differentiable)."""
    _check_features(features, skeleton)
    x, is_numpy = _as_tensor(features)
    quat, root = recover_root(x)
    ric = x[..., feature_slices(skeleton)["ric"]].reshape(x.shape[:-1] + (-1, 3))
    joints = rot.quat_rotate(rot.quat_inverse(quat)[..., None, :], ric)
    joints = (
        joints + torch.stack([root[..., 0], torch.zeros_like(root[..., 0]), root[..., 2]], -1)[..., None, :]
    )
    out = torch.cat([root[..., None, :], joints], dim=-2)
    return out.numpy() if is_numpy else out


def recover_from_rot(
    features: np.ndarray | torch.Tensor,
    skeleton: str | Skeleton = "humanml3d",
    target_offsets: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray | torch.Tensor:
    """Joint positions by FK of the 6D rotation channels on the target skeleton (or on
    `target_offsets [J, 3]`, if the features were made with other ones):
    `[..., T, D]` -> `[..., T, J, 3]` (reference `recover_from_rot`)."""
    _check_features(features, skeleton)
    skel = resolve_skeleton(skeleton)
    x, is_numpy = _as_tensor(features)
    quat, root = recover_root(x)
    cont6d = x[..., feature_slices(skel)["rot"]].reshape(x.shape[:-1] + (-1, 6))
    cont6d = torch.cat([rot.quat_to_cont6d(quat)[..., None, :], cont6d], dim=-2)
    offsets = skel.target_offsets if target_offsets is None else target_offsets
    offsets = torch.as_tensor(np.array(offsets) if isinstance(offsets, np.ndarray) else offsets)
    offsets = offsets.to(dtype=x.dtype, device=x.device)
    out = forward_kinematics_cont6d(cont6d, root, offsets, skel)
    return out.numpy() if is_numpy else out


# ----------------------------------------------------------------------------- normalisation


class Normalizer:
    """Per-channel z-scoring with the dataset's mean and std `[D]` (kept as float32)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        std = np.asarray(std, dtype=np.float32).reshape(-1)
        if mean.shape != std.shape:
            raise LeadError(f"Normalizer: mean {mean.shape} and std {std.shape} must have the same shape [D]")
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise LeadError("Normalizer: mean/std contain NaN or infinite values")
        # Constant channels (e.g. a foot never in contact in a small set) have std ~ 0; dividing by it
        # would blow them up, so leave such channels unscaled.
        self.mean = mean
        self.std = np.where(std < 1e-8, np.float32(1.0), std).astype(np.float32)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def _stats(self, x):
        if x.shape[-1] != self.dim:
            raise LeadError(f"Normalizer: expected features [..., {self.dim}], got {tuple(x.shape)}")
        if isinstance(x, torch.Tensor):
            dtype = x.dtype if x.is_floating_point() else torch.float32
            return (torch.as_tensor(self.mean, device=x.device).to(dtype),
                    torch.as_tensor(self.std, device=x.device).to(dtype))  # fmt: skip
        return self.mean, self.std

    def normalize(self, x):
        """`[..., D]` -> `(x - mean) / std`, same type as `x`."""
        mean, std = self._stats(x)
        return (x - mean) / std

    def denormalize(self, x):
        """`[..., D]` -> `x * std + mean`, same type as `x`."""
        mean, std = self._stats(x)
        return x * std + mean

    def save(self, folder: str | os.PathLike) -> None:
        """Write `mean.npy` and `std.npy` into `folder` (atomically)."""
        from lead.io import save_npy

        Path(folder).mkdir(parents=True, exist_ok=True)
        save_npy(Path(folder) / "mean.npy", self.mean)
        save_npy(Path(folder) / "std.npy", self.std)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Normalizer:
        """Read `mean.npy` / `std.npy` written by `save`."""
        return cls._from_files(Path(folder), "mean.npy", "std.npy")

    @classmethod
    def from_dataset(cls, root: str | os.PathLike) -> Normalizer:
        """The statistics shipped with a HumanML3D / KIT-ML folder (`Mean.npy`, `Std.npy`)."""
        return cls._from_files(Path(root), "Mean.npy", "Std.npy")

    @classmethod
    def _from_files(cls, folder: Path, mean_name: str, std_name: str) -> Normalizer:
        from lead.io import check_regular_input

        paths = [check_regular_input(folder / name, f"the normaliser's {name}") for name in (mean_name, std_name)]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise LeadError(f"Normalizer: missing {', '.join(missing)}; expected {mean_name} and {std_name}")
        from lead.io import load_array

        arrays = [load_array(path, f"the normaliser's {path.name}", ndim=1) for path in paths]
        for path, array in zip(paths, arrays):
            if not np.isfinite(array).all():
                raise LeadError(f"{path}: the normaliser's {path.name} contains NaN or infinite values")
        if arrays[0].shape != arrays[1].shape:
            raise LeadError(f"{folder}: {mean_name} has {arrays[0].shape[0]} channels but {std_name} has "
                            f"{arrays[1].shape[0]}; both must be the statistics of one feature layout")
        std = arrays[1]
        if (std < 0).any():
            raise LeadError(f"{paths[1]}: the normaliser's {std_name} holds negative values (a standard deviation "
                            "is >= 0); recompute it from the training motions")
        if std.size and (std < 1e-8).all():  # a few constant channels are normal; none varying is a broken file
            raise LeadError(f"{paths[1]}: the normaliser's {std_name} is zero in every channel, so it is not the "
                            "statistics of any dataset; recompute it from the training motions")
        return cls(*arrays)
