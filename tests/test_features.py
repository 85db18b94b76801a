"""HumanML3D features against the reference sample (tests/fixtures/humanml3d-reference, MIT)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from lead.errors import LeadError
from lead.motion import rotations as rot
from lead.motion.features import (
    Normalizer,
    feature_dim,
    feature_slices,
    features_to_joints,
    joints_to_features,
    recover_from_rot,
    split_features,
)
from lead.motion.skeleton import forward_kinematics, get_skeleton

FIXTURES = Path(__file__).parent / "fixtures" / "humanml3d-reference"


@pytest.fixture(scope="module")
def reference():
    features = np.load(FIXTURES / "new_joint_vecs" / "012314.npy")
    joints = np.load(FIXTURES / "new_joints" / "012314.npy")
    return features, joints


def test_layout():
    assert feature_dim("humanml3d") == 263 and feature_dim("kit") == 251
    slices = feature_slices("humanml3d")
    assert [(s.start, s.stop) for s in slices.values()] == [
        (0, 4),
        (4, 67),
        (67, 193),
        (193, 259),
        (259, 263),
    ]


def test_features_to_joints_reproduces_reference(reference):
    features, joints = reference
    out = features_to_joints(features)
    assert isinstance(out, np.ndarray) and out.shape == joints.shape
    assert np.abs(out - joints).max() < 1e-5  # measured 0.0
    batched = features_to_joints(torch.from_numpy(features).expand(2, -1, -1))
    assert isinstance(batched, torch.Tensor) and batched.shape == (2,) + joints.shape
    assert (batched[1].numpy() - joints).__abs__().max() < 1e-5


def test_joints_to_features_reproduces_reference(reference):
    features, joints = reference
    # The reference wrote `features` (T-1 = 170 frames) from a 171-frame clip, and `joints` by
    # decoding those features, so our 169 frames line up with its first 169. The last ~80 frames
    # differ slightly: the reference smooths the facing direction over time (sigma 20 frames) and
    # saw one more frame at the end.
    ours = joints_to_features(joints)
    assert ours.shape == (169, 263) and ours.dtype == np.float32
    diff = np.abs(ours - features[:169])
    groups = feature_slices("humanml3d")
    # Measured: root 3.0e-4, vel 4.1e-4, feet 0, ric 6.8e-3, rot 1.3e-2 (all at the last frame).
    for name in ("root", "vel", "feet"):
        assert diff[:, groups[name]].max() < 1e-3, name
    for name in ("ric", "rot"):
        assert diff[:, groups[name]].max() < 2e-2, name
    # Away from the end the match is much tighter (measured 1.4e-4 over frames 0-119).
    assert diff[:120].max() < 1e-3


def test_features_invariant_to_placement_and_body_size(reference):
    _, joints = reference
    joints = joints[:60].astype(np.float64)
    base = joints_to_features(joints)
    turned = rot.quat_rotate(rot.quat_from_y_angle(np.array(2.1)), joints)
    moved = turned * 1.3 + np.array([3.0, 0.5, -2.0])
    assert np.abs(joints_to_features(moved) - base).max() < 1e-5


def test_recover_from_rot_agrees_with_ric(reference):
    features, joints = reference
    via_rot = recover_from_rot(features)
    assert via_rot.shape == joints.shape
    assert np.abs(via_rot - joints).max() < 1e-4  # measured 1.4e-6
    torch_out = recover_from_rot(torch.from_numpy(features)[None])
    assert torch_out.shape == (1,) + joints.shape


def _kit_clip(frames: int = 30) -> np.ndarray:
    """A KIT-shaped clip: FK of the KIT target skeleton with smoothly varying joint rotations."""
    skel = get_skeleton("kit")
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 1.0, frames)[:, None, None]
    axis_angle = 0.3 * np.sin(2 * np.pi * t + rng.uniform(0, 6, (1, skel.num_joints, 3)))
    quats = rot.axis_angle_to_quat(axis_angle)
    root = np.stack([np.zeros(frames), np.full(frames, 950.0), np.linspace(0, 800, frames)], -1)
    return forward_kinematics(quats, root, skel.target_offsets, skel)


def test_kit_layout():
    joints = _kit_clip()
    features = joints_to_features(joints, "kit")
    assert features.shape == (29, 251)
    parts = split_features(features, "kit")
    assert parts["ric"].shape == (29, 20, 3) and parts["vel"].shape == (29, 21, 3)
    # The target skeleton is the one the clip was built on, so positions come back (after the
    # canonical placement: floor, origin, facing +Z).
    recovered = features_to_joints(features, "kit")
    bones = np.linalg.norm(recovered[:, 12] - recovered[:, 11], axis=-1)
    np.testing.assert_allclose(bones, get_skeleton("kit").bone_lengths[12], rtol=1e-5)


def test_target_offsets_override(reference):
    _, joints = reference
    skel = get_skeleton("humanml3d")
    features = joints_to_features(joints[:30], target_offsets=skel.target_offsets * 1.1)
    recovered = features_to_joints(features)
    np.testing.assert_allclose(np.linalg.norm(recovered[:, 4] - recovered[:, 1], axis=-1),
                               skel.bone_lengths[4] * 1.1, rtol=1e-5)  # fmt: skip


def test_bad_inputs_name_the_expected_shape(reference):
    features, joints = reference
    with pytest.raises(LeadError, match=r"\(T, 22, 3\)"):
        joints_to_features(joints[:, :21])
    broken = joints.copy()
    broken[3, 4, 1] = np.nan
    with pytest.raises(LeadError, match="NaN"):
        joints_to_features(broken)
    with pytest.raises(LeadError, match="263"):
        features_to_joints(features[:, :200])
    with pytest.raises(LeadError, match="251"):
        recover_from_rot(features, "kit")


def test_normalizer_round_trip(tmp_path, reference):
    features, _ = reference
    normalizer = Normalizer.from_dataset(FIXTURES)
    assert normalizer.mean.dtype == np.float32 and normalizer.dim == 263
    z = normalizer.normalize(features)
    np.testing.assert_allclose(normalizer.denormalize(z), features, atol=1e-5)
    zt = normalizer.normalize(torch.from_numpy(features))
    assert isinstance(zt, torch.Tensor)
    np.testing.assert_allclose(zt.numpy(), z, atol=1e-5)
    normalizer.save(tmp_path / "stats")
    loaded = Normalizer.load(tmp_path / "stats")
    np.testing.assert_array_equal(loaded.mean, normalizer.mean)
    np.testing.assert_array_equal(loaded.std, normalizer.std)
    # A constant channel is left unscaled instead of divided by ~0.
    safe = Normalizer(np.zeros(3), np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(safe.normalize(np.array([1.0, 5.0, 4.0])), [1.0, 5.0, 2.0])
    with pytest.raises(LeadError, match="Std.npy"):
        Normalizer.from_dataset(tmp_path)


def test_foot_contacts_follow_foot_speed(reference):
    _, joints = reference
    skel = get_skeleton("humanml3d")
    features = joints_to_features(joints)
    feet = split_features(features, skel)["feet"]  # left (7, 10) then right (8, 11)
    # Recompute on the placed, re-targeted clip (features_to_joints gives exactly that clip here).
    placed = features_to_joints(features)
    for column, joint in enumerate(skel.feet_left + skel.feet_right):
        speed2 = ((placed[1:169, joint] - placed[:168, joint]) ** 2).sum(-1)
        clear = np.abs(speed2 - 0.002) > 1e-5  # away from the threshold, where float noise decides
        np.testing.assert_array_equal(feet[:168, column][clear], (speed2 < 0.002)[clear])
    assert 0 < feet.mean() < 1
