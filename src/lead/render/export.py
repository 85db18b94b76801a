"""Export motions as files other tools read: joint positions (.npy) and BVH.

The BVH skeleton is the dataset's own (HumanML3D: the 22 SMPL joints named as in
`lead.motion.skeleton`), rooted at the pelvis, which carries `Xposition Yposition Zposition` plus
three rotation channels; every other joint has three rotation channels. Euler orders are chosen
per joint so that the middle angle, which must stay off +-90 degrees (gimbal lock), is one that
stays small: the twist about the joint's rest bone (ZYX for legs and spine, ZXY for arms, YZX
for feet) and, for the pelvis, the sideways roll (YZX: yaw, roll, pitch). `euler_order` forces
one order for every joint. Angles are unwrapped over time (no 360-degree jumps). Units are
metres by default (`units="cm"` for tools that expect centimetres), Y up, the person facing +Z
at rest with their left side towards +X.

Rest pose (the OFFSETs): a T-pose. Bones point along the skeleton's `raw_offsets` directions (legs
down, feet forward), except that the spine and head point straight up and the arms sideways
along their collar bones (HumanML3D's raw offsets point the head bone forward and hang the arms,
even the collar-to-shoulder bone, straight down). Bone lengths are the motion's (median over
frames). The pelvis and the upper spine have three children each (hips + spine, collars + neck);
their three rest bones are measured from the motion itself (their mean shape in the joint's
frame), because no single rotation can point axis-aligned rest bones along real hips and collars.

Rotations come from one of two sources:
- "ik" (default): from joint positions (given, or recovered from the features' position
  channels with `features_to_joints`). Branching joints get the frame spanned by their left-right
  children and their upward child; every other joint the shortest-arc turn of its bone relative
  to its parent's frame (no added twist). The BVH reproduces the joint positions up to changes of
  bone length over time (none in HumanML3D data, whose skeleton is uniform).
- "features": from the 6D rotation channels as the reference IK wrote them (each is its bone's
  rotation relative to the previous bone of its kinematic chain; chains restart at the root
  rotation). A joint takes its bone's global rotation (the reference's twist); branching joints
  take the frame of where those rotations put their children, since a shortest-arc bone rotation
  does not follow the pelvis' or chest's twist. It reproduces `recover_from_rot`. Its twists are
  world-frame shortest arcs, which flip when a bone points opposite its raw direction (arms
  raised), so its channels jump by up to ~180 degrees between frames where "ik"'s do not.
On real data both reproduce `features_to_joints` to ~1e-5 m. "ik" is the default: where the two
channel groups disagree (generated features need not keep them consistent) it follows the
position channels, like the joints and videos written beside the BVH; only changes of bone
length over time are lost, the exported skeleton having fixed bones.
"""

from __future__ import annotations

import os

import numpy as np

from lead.errors import LeadError
from lead.io import save_npy
from lead.motion import rotations as rot
from lead.motion.bvh import BvhMotion, write_bvh
from lead.motion.features import feature_dim, feature_slices, features_to_joints, recover_root
from lead.motion.skeleton import Skeleton, resolve_skeleton

_UNITS = {"m": 1.0, "cm": 100.0}


def save_joints_npy(path: str | os.PathLike, joints: np.ndarray) -> None:
    """Save joint positions `[T, J, 3]` as float32 .npy (atomically)."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[-1] != 3 or joints.shape[0] < 1:
        raise LeadError(f"joints for {path}: expected shape (T, J, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise LeadError(f"joints for {path}: contain NaN or infinite values")
    save_npy(path, joints.astype(np.float32))


def _between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation matrices `[..., 3, 3]` turning directions a onto b `[..., 3]`."""
    return rot.quat_to_matrix(rot.quat_between(a, b))


def _normalized(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _children(skel: Skeleton) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in range(skel.num_joints)]
    for j, parent in enumerate(skel.parents):
        if parent >= 0:
            children[parent].append(j)
    return children


def _branch_roles(skel: Skeleton, joint: int, kids: list[int]) -> tuple[int, int, int]:
    """(+X child, -X child, +Y child) of a branching joint, from the rest directions."""
    raw = skel.raw_offsets

    def pick(direction: tuple[float, float, float]) -> int:
        matches = [c for c in kids if np.allclose(raw[c], direction)]
        if len(matches) != 1:
            raise LeadError(f"skeleton {skel.name!r}: joint {joint} has no unique child along {direction}")
        return matches[0]

    return pick((1.0, 0.0, 0.0)), pick((-1.0, 0.0, 0.0)), pick((0.0, 1.0, 0.0))


def _branch_frames(joints: np.ndarray, joint: int, roles: tuple[int, int, int]) -> np.ndarray:
    """`[T, 3, 3]` orthonormal frames: x from the -X child to the +X child, y towards the +Y child."""
    plus_x, minus_x, plus_y = roles
    x = _normalized(joints[:, plus_x] - joints[:, minus_x])
    up = joints[:, plus_y] - joints[:, joint]
    z = _normalized(np.cross(x, up))
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def _rest_bones(bones: np.ndarray, frames: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Mean bone direction `[3]` in the joint's frames, scaled to `lengths`; bones `[T, 3]`."""
    local = np.einsum("tab,ta->tb", frames, bones)
    return _normalized(local.mean(axis=0)) * lengths


def _motion_from_joints(joints: np.ndarray, skel: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Global joint rotations `[T, J, 3, 3]` and rest offsets `[J, 3]` reproducing `joints [T, J, 3]`."""
    frames_count, count = joints.shape[:2]
    parents = np.asarray(skel.parents)
    bones = joints[:, 1:] - joints[:, parents[1:]]
    lengths = np.concatenate([[0.0], np.median(np.linalg.norm(bones, axis=-1), axis=0)])
    offsets = skel.raw_offsets * lengths[:, None]
    kids = _children(skel)
    global_rot = np.empty((frames_count, count, 3, 3))
    identity = np.broadcast_to(np.eye(3), (frames_count, 3, 3))
    for j in range(count):
        parent_rot = global_rot[:, parents[j]] if parents[j] >= 0 else identity
        if len(kids[j]) >= 2:
            frames = _branch_frames(joints, j, _branch_roles(skel, j, kids[j]))
            global_rot[:, j] = frames
            for child in kids[j]:
                offsets[child] = _rest_bones(joints[:, child] - joints[:, j], frames, lengths[child])
        elif len(kids[j]) == 1:
            child = kids[j][0]
            rest_now = np.einsum("tab,b->ta", parent_rot, skel.raw_offsets[child])
            global_rot[:, j] = _between(rest_now, joints[:, child] - joints[:, j]) @ parent_rot
        else:
            global_rot[:, j] = parent_rot
    return global_rot, offsets


def _motion_from_features(features: np.ndarray, skel: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global joint rotations `[T, J, 3, 3]`, rest offsets `[J, 3]` and root positions `[T, 3]` from
    the 6D rotation channels (reference convention: per-bone rotations along each chain)."""
    root_quat, root_pos = recover_root(features)
    local = rot.cont6d_to_matrix(features[:, feature_slices(skel)["rot"]].reshape(len(features), -1, 6))
    bone_rot = np.empty((len(features), skel.num_joints, 3, 3))
    bone_rot[:, 0] = rot.quat_to_matrix(root_quat)
    for chain in skel.kinematic_chain:
        current = bone_rot[:, 0]  # every chain restarts at the root rotation, as in the reference
        for child in chain[1:]:
            current = current @ local[:, child - 1]
            bone_rot[:, child] = current
    # Where FK of those rotations puts the joints (what `recover_from_rot` returns).
    placed = np.empty((len(features), skel.num_joints, 3))
    placed[:, 0] = root_pos
    parents = np.asarray(skel.parents)
    for j in range(1, skel.num_joints):
        placed[:, j] = placed[:, parents[j]] + bone_rot[:, j] @ skel.target_offsets[j]
    offsets = np.array(skel.target_offsets, dtype=np.float64)
    kids = _children(skel)
    global_rot = np.empty_like(bone_rot)
    for j in range(skel.num_joints):
        if len(kids[j]) >= 2:
            # A bone rotation is a shortest arc: it does not follow the pelvis' or chest's twist.
            frames = _branch_frames(placed, j, _branch_roles(skel, j, kids[j]))
            global_rot[:, j] = frames
            for child in kids[j]:
                bone = placed[:, child] - placed[:, j]
                offsets[child] = _rest_bones(bone, frames, np.linalg.norm(offsets[child]))
        elif len(kids[j]) == 1:
            global_rot[:, j] = bone_rot[:, kids[j][0]]
        else:
            global_rot[:, j] = global_rot[:, parents[j]]
    return global_rot, offsets, root_pos


def _t_pose_directions(skel: Skeleton) -> np.ndarray:
    """`[J, 3]` rest directions: `raw_offsets`, except that the spine chain points straight up (the
    HumanML3D head bone points forward) and the arm bones point like the first bone of their chain
    (the collar, sideways). Arm chains are those starting away from the root."""
    directions = np.array(skel.raw_offsets, dtype=np.float64)
    for chain in skel.kinematic_chain:
        if len(chain) < 3:
            continue
        first = directions[chain[1]].copy()
        if chain[0] == 0 and np.allclose(first, (0.0, 1.0, 0.0)):
            directions[list(chain[1:])] = first
        elif chain[0] != 0:
            for joint in chain[2:]:
                if np.allclose(directions[joint], (0.0, -1.0, 0.0)):
                    directions[joint] = first
    return directions


def _to_rest_directions(global_rot: np.ndarray, offsets: np.ndarray, skel: Skeleton) -> None:
    """Re-express single-child joints' rotations for T-pose rest bones, in place: a joint whose
    child's rest direction changes from raw r to d gets `G @ between(d, r)`, so `G' d = G r`."""
    directions = _t_pose_directions(skel)
    kids = _children(skel)
    for j in range(skel.num_joints):
        if len(kids[j]) == 1 and not np.allclose(directions[kids[j][0]], skel.raw_offsets[kids[j][0]]):
            child = kids[j][0]
            global_rot[:, j] = global_rot[:, j] @ _between(directions[child], skel.raw_offsets[child])
            offsets[child] = directions[child] * np.linalg.norm(offsets[child])
        elif not kids[j]:
            global_rot[:, j] = global_rot[:, skel.parents[j]]


def _euler_orders(offsets: np.ndarray, skel: Skeleton) -> list[str]:
    """Per joint: middle axis along the rest bone to its child (or its own, for a leaf)."""
    kids = _children(skel)
    orders = ["YZX"]
    for j in range(1, skel.num_joints):
        if len(kids[j]) > 1:
            bone = offsets[_branch_roles(skel, j, kids[j])[2]]
        else:
            bone = offsets[kids[j][0]] if kids[j] else offsets[j]
        orders.append({0: "ZXY", 1: "ZYX", 2: "YZX"}[int(np.argmax(np.abs(bone)))])
    return orders


def humanml3d_bvh_motion(
    features_or_joints: np.ndarray,
    skeleton: str | Skeleton = "humanml3d",
    fps: float | None = None,
    rotations: str = "ik",
    units: str = "m",
    euler_order: str | None = None,
) -> BvhMotion:
    """A `BvhMotion` of the dataset skeleton from features `[T, D]` or joints `[T, J, 3]`.

    See the module docstring for the skeleton, units and the two rotation sources. `fps` defaults
    to the skeleton's (20 for HumanML3D).
    """
    skel = resolve_skeleton(skeleton)
    if hasattr(features_or_joints, "detach"):  # a torch tensor
        features_or_joints = features_or_joints.detach().cpu().numpy()
    data = np.asarray(features_or_joints, dtype=np.float64)
    is_features = data.ndim == 2 and data.shape[-1] == feature_dim(skel)
    if not is_features and data.shape[1:] != (skel.num_joints, 3):
        raise LeadError(
            f"BVH export: expected features (T, {feature_dim(skel)}) or joints (T, {skel.num_joints}, 3) "
            f"for skeleton {skel.name!r}, got {data.shape}"
        )
    if not np.isfinite(data).all() or len(data) < 1:
        raise LeadError("BVH export: the motion is empty or contains NaN/inf values")
    if units not in _UNITS:
        raise LeadError(f"BVH export: units must be one of {', '.join(_UNITS)}, got {units!r}")
    if rotations == "features":
        if not is_features:
            raise LeadError("BVH export: rotations='features' needs the 263/251-d features, not joints")
        global_rot, offsets, root_pos = _motion_from_features(data, skel)
    elif rotations == "ik":
        joints = features_to_joints(data, skel) if is_features else data
        global_rot, offsets = _motion_from_joints(joints, skel)
        root_pos = joints[:, 0]
    else:
        raise LeadError(f"BVH export: rotations must be 'ik' or 'features', got {rotations!r}")

    _to_rest_directions(global_rot, offsets, skel)
    scale = skel.metres_per_unit * _UNITS[units]
    parents = np.asarray(skel.parents)
    local = global_rot.copy()
    local[:, 1:] = np.swapaxes(global_rot[:, parents[1:]], -1, -2) @ global_rot[:, 1:]
    translations = np.repeat(offsets[None] * scale, len(data), axis=0)
    translations[:, 0] = root_pos * scale
    if euler_order is not None and sorted(euler_order.upper()) != ["X", "Y", "Z"]:
        raise LeadError(
            f"BVH export: euler_order must be a permutation of XYZ (like ZXY), got {euler_order!r}"
        )
    orders = _euler_orders(offsets, skel) if euler_order is None else [euler_order.upper()] * skel.num_joints
    channels = [tuple(f"{axis}rotation" for axis in order) for order in orders]
    channels[0] = ("Xposition", "Yposition", "Zposition") + channels[0]
    leaves = [j for j, kids in enumerate(_children(skel)) if not kids]
    return BvhMotion(
        names=list(skel.joint_names),
        parents=parents.astype(np.int64),
        offsets=offsets * scale,
        channels=channels,
        rotations=local,
        translations=translations,
        frame_time=1.0 / (fps or skel.fps),
        end_sites={j: 0.5 * offsets[j] * scale for j in leaves},
    )


def write_humanml3d_bvh(
    path: str | os.PathLike,
    features_or_joints: np.ndarray,
    skeleton: str | Skeleton = "humanml3d",
    fps: float | None = None,
    rotations: str = "ik",
    units: str = "m",
    euler_order: str | None = None,
) -> None:
    """Write features `[T, D]` or joints `[T, J, 3]` as a BVH of the dataset skeleton (atomically).

    Reading it back (`read_bvh(path).global_positions()`) gives the joint positions in `units`.
    """
    write_bvh(path, humanml3d_bvh_motion(features_or_joints, skeleton, fps, rotations, units, euler_order))
