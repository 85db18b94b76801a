"""Skeleton constants, target bone lengths and IK/FK on the real HumanML3D sample."""

from pathlib import Path

import numpy as np
import pytest
import torch

from lead.errors import LeadError
from lead.motion import rotations as rot
from lead.motion.skeleton import (
    bone_offsets,
    facing_quaternions,
    forward_kinematics,
    forward_kinematics_cont6d,
    get_skeleton,
    inverse_kinematics,
)

FIXTURES = Path(__file__).parent / "fixtures" / "humanml3d-reference"


@pytest.fixture(scope="module")
def sample_joints() -> np.ndarray:
    return np.load(FIXTURES / "new_joints" / "012314.npy").astype(np.float64)


def test_layouts():
    h = get_skeleton("humanml3d")
    assert h.num_joints == 22 and h.feature_dim == 263 and h.fps == 20
    assert h.joint_names[0] == "pelvis" and h.joint_names[21] == "right_wrist"
    assert h.parents == (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
    assert h.face_joints == (2, 1, 17, 16) and h.feet_right == (8, 11) and h.feet_left == (7, 10)
    assert [h.joint_names[i] for i in h.face_joints] == [
        "right_hip",
        "left_hip",
        "right_shoulder",
        "left_shoulder",
    ]
    k = get_skeleton("kit")
    assert k.num_joints == 21 and k.feature_dim == 251 and k.metres_per_unit == 0.001
    for skel in (h, k):
        assert np.allclose(np.linalg.norm(skel.raw_offsets[1:], axis=-1), 1.0)
        # Every non-root joint appears exactly once as a chain child.
        children = sorted(c for branch in skel.kinematic_chain for c in branch[1:])
        assert children == list(range(1, skel.num_joints))
        assert not skel.target_offsets.flags.writeable
    with pytest.raises(LeadError, match="humanml3d"):
        get_skeleton("nope")


def test_humanml3d_target_lengths_match_sample(sample_joints):
    skel = get_skeleton("humanml3d")
    measured = bone_offsets(sample_joints, skel)  # [T, J, 3]
    np.testing.assert_allclose(measured, np.broadcast_to(skel.target_offsets, measured.shape), atol=2e-6)


def test_ik_fk_round_trip(sample_joints):
    skel = get_skeleton("humanml3d")
    quats = inverse_kinematics(sample_joints, skel, smooth_forward=True, identity_first_root=True)
    np.testing.assert_allclose(np.linalg.norm(quats, axis=-1), 1.0, atol=1e-9)
    rebuilt = forward_kinematics(quats, sample_joints[:, 0], skel.target_offsets, skel)
    assert np.abs(rebuilt - sample_joints).max() < 5e-6
    # Same through 6D and through torch (batched with a leading axis).
    via6d = forward_kinematics_cont6d(
        rot.quat_to_cont6d(quats), sample_joints[:, 0], skel.target_offsets, skel
    )
    assert np.abs(via6d - sample_joints).max() < 5e-6
    batched = forward_kinematics(
        torch.from_numpy(quats)[None].float(), torch.from_numpy(sample_joints[:, 0])[None].float(),
        torch.from_numpy(skel.target_offsets.copy()).float(), skel,
    )  # fmt: skip
    assert batched.shape == (1,) + sample_joints.shape
    assert (batched[0].double().numpy() - sample_joints).__abs__().max() < 1e-4


def test_fk_of_rest_pose_is_offsets():
    skel = get_skeleton("kit")
    quats = np.zeros((1, skel.num_joints, 4))
    quats[..., 0] = 1.0
    joints = forward_kinematics(quats, np.zeros((1, 3)), skel.target_offsets, skel)
    for child, parent in enumerate(skel.parents):
        if parent >= 0:
            np.testing.assert_allclose(joints[0, child] - joints[0, parent], skel.target_offsets[child])


def test_body_orientation_root_for_export(sample_joints):
    skel = get_skeleton("humanml3d")
    turned = rot.quat_rotate(rot.quat_from_y_angle(np.array(1.0)), sample_joints[:5])
    quats = inverse_kinematics(turned, skel, reference_root=False)
    # The root rotation turns the rest pose's +Z forward onto the body's forward, so it turns the
    # rest hip direction (left hip at +X) onto the posed one, up to the tilt of the hips.
    rest_hip = rot.quat_rotate(quats[:, 0], skel.raw_offsets[1])
    posed_hip = turned[:, 1] - turned[:, 2]
    posed_hip[:, 1] = 0.0
    cos = (rest_hip * posed_hip).sum(-1) / np.linalg.norm(posed_hip, axis=-1)
    assert (cos > 0.95).all()
    rebuilt = forward_kinematics(quats, turned[:, 0], skel.target_offsets, skel)
    assert np.abs(rebuilt - turned).max() < 5e-6


def test_degenerate_facing_does_not_give_nan():
    skel = get_skeleton("humanml3d")
    joints = np.zeros((3, 22, 3))
    joints[:, 1] = [0.1, 0.0, 0.0]  # left hip
    joints[:, 17] = [0.1, 0.5, 0.0]  # right shoulder: the reference's hip and shoulder terms cancel
    joints[:, 16] = [0.0, 0.5, 0.0]
    assert np.isfinite(facing_quaternions(joints, skel)).all()
    joints[:] = 0.0
    assert np.isfinite(facing_quaternions(joints, skel, smooth_forward=True)).all()
