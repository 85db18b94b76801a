"""Skeleton layouts of HumanML3D (SMPL, 22 joints) and KIT-ML (MMM, 21 joints), with the
inverse and forward kinematics of the reference HumanML3D `common/skeleton.py`.

Kinematics conventions (shared with the reference):
- `raw_offsets [J, 3]` are unit rest-pose bone directions (child minus parent), `offsets [J, 3]`
  are rest-pose bone vectors (`raw_offsets * bone length`); row 0 (the root) is zero.
- A local rotation `quats[..., j, :]` turns the rest bone of joint j (within its parent's frame)
  into the posed one; FK composes them along each kinematic chain, starting from the root
  rotation `quats[..., 0, :]`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import torch

from lead.errors import LeadError
from lead.motion import rotations as rot

HUMANML3D_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip

# Reference paramUtil.t2m_raw_offsets.
_T2M_RAW_OFFSETS = np.array(
    [
        [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
        [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
        [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
    ],
    dtype=np.float64,
)  # fmt: skip
_T2M_CHAIN = (
    (0, 2, 5, 8, 11),
    (0, 1, 4, 7, 10),
    (0, 3, 6, 9, 12, 15),
    (9, 14, 17, 19, 21),
    (9, 13, 16, 18, 20),
)

# Target bone lengths (metres) of HumanML3D, joints 1..21. The reference takes them from frame 0
# of AMASS clip 000021, which is not public here; every clip it writes is re-targeted onto those
# lengths, so they were measured once on the real sample tests/fixtures/humanml3d-reference/
# new_joints/012314.npy (mean over its 170 frames; they vary by < 3e-7 m there) and are hard-coded.
# tests/test_skeleton.py checks them against that file.
_T2M_BONE_LENGTHS = np.array(
    [
        0.1030740, 0.1098834, 0.1315682, 0.3936232, 0.3901882, 0.1431902, 0.4324330, 0.4256434,
        0.0573647, 0.1433818, 0.1494191, 0.2193601, 0.1374868, 0.1433828, 0.1030392, 0.1316140,
        0.1229844, 0.2568399, 0.2630919, 0.2660118, 0.2698763,
    ]
)  # fmt: skip

KIT_JOINT_NAMES = (
    "root", "torso", "chest", "neck", "head", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "right_ball",
    "right_toe", "left_hip", "left_knee", "left_ankle", "left_ball", "left_toe",
)  # fmt: skip

# Reference paramUtil.kit_raw_offsets.
_KIT_RAW_OFFSETS = np.array(
    [
        [0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0],
        [-1, 0, 0], [0, -1, 0], [0, -1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
        [-1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
    ],
    dtype=np.float64,
)  # fmt: skip
_KIT_CHAIN = ((0, 11, 12, 13, 14, 15), (0, 16, 17, 18, 19, 20), (0, 1, 2, 3, 4), (3, 5, 6, 7), (3, 8, 9, 10))

# KIT-ML joints are in millimetres in the reference data (so are its 251-d features). The reference
# target skeleton is frame 0 of KIT clip 03950, which is not available here: these lengths are the
# MMM reference model's segment proportions (Winter's anthropometric table, fractions of body
# height) for a 1.75 m subject, in millimetres. With real KIT-ML data, measure the true ones with
# `bone_offsets(joints_03950[0], get_skeleton("kit"))` and pass them as `target_offsets`.
_KIT_HEIGHT_MM = 1750.0
_KIT_BONE_FRACTIONS = np.array(
    [
        0.100, 0.100, 0.050, 0.080,  # torso, chest, neck, head (joints 1-4)
        0.105, 0.186, 0.146,  # right shoulder, upper arm, forearm (5-7)
        0.105, 0.186, 0.146,  # left (8-10)
        0.052, 0.245, 0.246, 0.080, 0.040,  # right hip, thigh, shank, foot, toes (11-15)
        0.052, 0.245, 0.246, 0.080, 0.040,  # left (16-20)
    ]
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A joint layout and everything the HumanML3D feature pipeline needs to know about it."""

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]  # parents[0] == -1
    kinematic_chain: tuple[tuple[int, ...], ...]
    raw_offsets: np.ndarray  # [J, 3] unit rest directions
    target_offsets: np.ndarray  # [J, 3] rest bones of the target (uniform) skeleton
    feet_right: tuple[int, int]  # reference fid_r
    feet_left: tuple[int, int]  # reference fid_l
    leg_joints: tuple[int, int]  # reference l_idx1, l_idx2 (the leg-length scale ratio)
    face_joints: tuple[int, int, int, int]  # right hip, left hip, right shoulder, left shoulder
    feature_dim: int
    fps: float
    metres_per_unit: float  # 1.0 for HumanML3D (metres), 0.001 for KIT-ML (millimetres)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def bone_lengths(self) -> np.ndarray:
        """`[J]` target bone lengths (0 for the root)."""
        return np.linalg.norm(self.target_offsets, axis=-1)


def _parents_from_chain(chain: tuple[tuple[int, ...], ...], num_joints: int) -> tuple[int, ...]:
    parents = [-1] * num_joints
    for branch in chain:
        for parent, child in zip(branch[:-1], branch[1:]):
            parents[child] = parent
    return tuple(parents)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


@functools.cache
def get_skeleton(name: str) -> Skeleton:
    """The skeleton called `name`: "humanml3d" (aliases "t2m", "smpl") or "kit" ("kit-ml")."""
    key = name.lower().replace("_", "-")
    if key in ("humanml3d", "t2m", "smpl", "humanml"):
        lengths = np.concatenate([[0.0], _T2M_BONE_LENGTHS])
        return Skeleton(
            name="humanml3d",
            joint_names=HUMANML3D_JOINT_NAMES,
            parents=_parents_from_chain(_T2M_CHAIN, 22),
            kinematic_chain=_T2M_CHAIN,
            raw_offsets=_frozen(_T2M_RAW_OFFSETS),
            target_offsets=_frozen(_T2M_RAW_OFFSETS * lengths[:, None]),
            feet_right=(8, 11),
            feet_left=(7, 10),
            leg_joints=(5, 8),
            face_joints=(2, 1, 17, 16),
            feature_dim=263,
            fps=20.0,
            metres_per_unit=1.0,
        )
    if key in ("kit", "kit-ml", "kitml"):
        lengths = np.concatenate([[0.0], _KIT_BONE_FRACTIONS * _KIT_HEIGHT_MM])
        return Skeleton(
            name="kit",
            joint_names=KIT_JOINT_NAMES,
            parents=_parents_from_chain(_KIT_CHAIN, 21),
            kinematic_chain=_KIT_CHAIN,
            raw_offsets=_frozen(_KIT_RAW_OFFSETS),
            target_offsets=_frozen(_KIT_RAW_OFFSETS * lengths[:, None]),
            feet_right=(14, 15),
            feet_left=(19, 20),
            leg_joints=(17, 18),
            face_joints=(11, 16, 5, 8),
            feature_dim=251,
            fps=12.5,
            metres_per_unit=0.001,
        )
    raise LeadError(f"unknown skeleton {name!r}: expected 'humanml3d' or 'kit'")


def resolve_skeleton(skeleton: str | Skeleton) -> Skeleton:
    """Accept a skeleton or its name."""
    return skeleton if isinstance(skeleton, Skeleton) else get_skeleton(skeleton)


def bone_offsets(joints: np.ndarray, skeleton: str | Skeleton) -> np.ndarray:
    """Rest bones measured on a pose: `raw_offsets * |joint - parent|`.

    `joints [..., J, 3]` -> `[..., J, 3]` (reference `get_offsets_joints`).
    """
    skel = resolve_skeleton(skeleton)
    joints = np.asarray(joints, dtype=np.float64)
    parents = np.array(skel.parents[1:])
    lengths = np.linalg.norm(joints[..., 1:, :] - joints[..., parents, :], axis=-1)
    lengths = np.concatenate([np.zeros(lengths.shape[:-1] + (1,)), lengths], axis=-1)
    return skel.raw_offsets * lengths[..., None]


def facing_quaternions(
    joints: np.ndarray, skeleton: str | Skeleton, smooth_forward: bool = False, reference_ik: bool = True
) -> np.ndarray:
    """Per-frame root rotation turning the body's forward direction onto +Z: `[T, J, 3]` -> `[T, 4]`.

    Forward is `cross(+Y, across)` with `across` from the hips and shoulders. The reference IK
    unpacks its face joints as (l_hip, r_hip, sdr_r, sdr_l) although they are given as
    (r_hip, l_hip, sdr_r, sdr_l), so its hip vector points the other way and is subtracted from the
    shoulder vector; `reference_ik=True` reproduces that (HumanML3D's rotation channels depend on
    it), `reference_ik=False` adds them as intended. `smooth_forward` applies the reference's
    Gaussian smoothing (sigma 20 frames) over time.

    Where the reference divides 0 by 0 (hip and shoulder vectors cancelling, or `across` vertical)
    this falls back to the intended `across`, then to facing +Z, instead of returning NaN.
    """
    skel = resolve_skeleton(skeleton)
    r_hip, l_hip, r_shoulder, l_shoulder = skel.face_joints
    joints = np.asarray(joints, dtype=np.float64)
    shoulders = joints[:, r_shoulder] - joints[:, l_shoulder]
    intended = shoulders + joints[:, r_hip] - joints[:, l_hip]
    across = shoulders + joints[:, l_hip] - joints[:, r_hip] if reference_ik else intended
    across = np.where(np.linalg.norm(across, axis=-1, keepdims=True) > 1e-9, across, intended)
    across = across / np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), 1e-12)
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    forward = np.where(np.linalg.norm(forward, axis=-1, keepdims=True) > 1e-9, forward, [0.0, 0.0, 1.0])
    if smooth_forward:
        from scipy.ndimage import gaussian_filter1d  # scipy costs ~0.3 s to import; only feature extraction needs it

        forward = gaussian_filter1d(forward, 20, axis=0, mode="nearest")
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    return rot.quat_between(forward, np.broadcast_to(np.array([0.0, 0.0, 1.0]), forward.shape))


def inverse_kinematics(
    joints: np.ndarray,
    skeleton: str | Skeleton,
    face_joints: tuple[int, int, int, int] | None = None,
    smooth_forward: bool = False,
    identity_first_root: bool = False,
    reference_root: bool = True,
) -> np.ndarray:
    """Local joint rotations reproducing the bone directions of `joints [T, J, 3]` -> `[T, J, 4]`.

    Reference `Skeleton.inverse_kinematics_np`: each non-root joint gets the shortest-arc rotation
    of its rest direction onto its posed bone, expressed relative to its parent. Bone lengths are
    not kept: FK with any offsets gives back the bone directions. Zero-length bones get their rest
    direction. Whatever the root rotation, its children absorb it, so FK positions never depend on it.

    With `reference_root` (what the features need) the root rotation is the reference's: the one
    turning its (quirky, see `facing_quaternions`) forward direction onto +Z, i.e. world to body
    frame. With `reference_root=False` it is the body's actual orientation, turning +Z onto the
    hips-and-shoulders forward direction: what an exported BVH pelvis should carry.
    `identity_first_root` sets frame 0's root rotation to identity, as the reference code that
    produced the released HumanML3D features did.
    """
    skel = resolve_skeleton(skeleton)
    if face_joints is not None:
        skel = replace(skel, face_joints=tuple(face_joints))
    joints = np.asarray(joints, dtype=np.float64)
    if reference_root:
        root_quat = facing_quaternions(joints, skel, smooth_forward=smooth_forward)
    else:
        facing = facing_quaternions(joints, skel, smooth_forward=smooth_forward, reference_ik=False)
        root_quat = rot.quat_inverse(facing)
    if identity_first_root:
        root_quat[0] = (1.0, 0.0, 0.0, 0.0)
    quats = np.zeros(joints.shape[:-1] + (4,))
    quats[:, 0] = root_quat
    for branch in skel.kinematic_chain:
        global_rot = root_quat
        for parent, child in zip(branch[:-1], branch[1:]):
            rest = np.broadcast_to(skel.raw_offsets[child], (len(joints), 3))
            bone = joints[:, child] - joints[:, parent]
            norm = np.linalg.norm(bone, axis=-1, keepdims=True)
            bone = np.where(norm > 1e-12, bone / np.maximum(norm, 1e-12), rest)
            child_global = rot.quat_between(rest, bone)
            local = rot.quat_multiply(rot.quat_inverse(global_rot), child_global)
            quats[:, child] = local
            global_rot = rot.quat_multiply(global_rot, local)
    return quats


def _to_tensor(x, dtype: torch.dtype | None = None, device: torch.device | None = None) -> torch.Tensor:
    # np.array copies, so read-only arrays (the skeleton constants) never alias a tensor.
    t = torch.from_numpy(np.array(x)) if isinstance(x, np.ndarray) else torch.as_tensor(x)
    if dtype is None:
        dtype = t.dtype if t.is_floating_point() else torch.float64
    return t.to(dtype=dtype, device=device if device is not None else t.device)


def _check_rotations(rotations: torch.Tensor, size: int, skel: Skeleton, what: str) -> None:
    if rotations.ndim < 2 or tuple(rotations.shape[-2:]) != (skel.num_joints, size):
        raise LeadError(
            f"{what}: expected shape [..., {skel.num_joints}, {size}] for skeleton {skel.name!r}, "
            f"got {tuple(rotations.shape)}"
        )


def forward_kinematics(
    quats: np.ndarray | torch.Tensor,
    root_pos: np.ndarray | torch.Tensor,
    offsets: np.ndarray | torch.Tensor,
    skeleton: str | Skeleton,
) -> np.ndarray | torch.Tensor:
    """Joint positions from local rotations: `quats [..., J, 4]`, `root_pos [..., 3]`,
    `offsets [J, 3]` or `[..., J, 3]` -> `[..., J, 3]` (reference `forward_kinematics_np`).

    Numpy in, numpy out; torch in, torch out (differentiable).
    """
    skel = resolve_skeleton(skeleton)
    q = _to_tensor(quats)
    _check_rotations(q, 4, skel, "quats")
    root = _to_tensor(root_pos, q.dtype, q.device)
    off = _to_tensor(offsets, q.dtype, q.device)
    positions: list[torch.Tensor | None] = [None] * skel.num_joints
    positions[0] = root.expand(q.shape[:-2] + (3,))
    for branch in skel.kinematic_chain:
        global_rot = q[..., 0, :]
        for parent, child in zip(branch[:-1], branch[1:]):
            global_rot = rot.quat_multiply(global_rot, q[..., child, :])
            positions[child] = rot.quat_rotate(global_rot, off[..., child, :]) + positions[parent]
    out = torch.stack(positions, dim=-2)
    return out.numpy() if isinstance(quats, np.ndarray) else out


def forward_kinematics_cont6d(
    cont6d: np.ndarray | torch.Tensor,
    root_pos: np.ndarray | torch.Tensor,
    offsets: np.ndarray | torch.Tensor,
    skeleton: str | Skeleton,
) -> np.ndarray | torch.Tensor:
    """FK with 6D rotations `[..., J, 6]` (reference `forward_kinematics_cont6d`) -> `[..., J, 3]`."""
    skel = resolve_skeleton(skeleton)
    d6 = _to_tensor(cont6d)
    _check_rotations(d6, 6, skel, "cont6d")
    mats = rot.cont6d_to_matrix(d6)
    root = _to_tensor(root_pos, d6.dtype, d6.device)
    off = _to_tensor(offsets, d6.dtype, d6.device)
    positions: list[torch.Tensor | None] = [None] * skel.num_joints
    positions[0] = root.expand(d6.shape[:-2] + (3,))
    for branch in skel.kinematic_chain:
        global_mat = mats[..., 0, :, :]
        for parent, child in zip(branch[:-1], branch[1:]):
            global_mat = global_mat @ mats[..., child, :, :]
            positions[child] = (global_mat @ off[..., child, :, None])[..., 0] + positions[parent]
    out = torch.stack(positions, dim=-2)
    return out.numpy() if isinstance(cont6d, np.ndarray) else out
