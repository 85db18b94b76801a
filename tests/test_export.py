"""Joint and BVH export, checked by reading the BVH back on the real HumanML3D and Bandai samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lead.errors import LeadError
from lead.motion import rotations as rot
from lead.motion.bvh import forward_kinematics, read_bvh
from lead.motion.features import features_to_joints, joints_to_features, recover_from_rot
from lead.motion.retarget import bvh_to_humanml3d_joints
from lead.motion.skeleton import HUMANML3D_JOINT_NAMES, get_skeleton
from lead.render.export import humanml3d_bvh_motion, save_joints_npy, write_humanml3d_bvh

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "humanml3d-reference"
BANDAI_WALK = FIXTURES / "bandai-namco/dataset-2/data/dataset-2_walk_normal_013.bvh"


@pytest.fixture(scope="module")
def reference_features() -> np.ndarray:
    return np.load(REFERENCE / "new_joint_vecs/012314.npy")


@pytest.fixture(scope="module")
def bandai_features() -> np.ndarray:
    return joints_to_features(bvh_to_humanml3d_joints(BANDAI_WALK))


def _bvh_joints(path: Path) -> np.ndarray:
    """FK of a written BVH, joints reordered from file (depth-first) order to SMPL order."""
    motion = read_bvh(path)
    return motion.global_positions()[:, [motion.index(name) for name in HUMANML3D_JOINT_NAMES]]


def test_save_joints_npy(tmp_path):
    joints = np.load(REFERENCE / "new_joints/012314.npy").astype(np.float64)
    save_joints_npy(tmp_path / "a/joints.npy", joints)
    loaded = np.load(tmp_path / "a/joints.npy")
    assert loaded.dtype == np.float32 and loaded.shape == (170, 22, 3)
    np.testing.assert_array_equal(loaded, joints.astype(np.float32))
    with pytest.raises(LeadError, match=r"expected shape \(T, J, 3\)"):
        save_joints_npy(tmp_path / "b.npy", joints[..., :2])
    with pytest.raises(LeadError, match="NaN"):
        save_joints_npy(tmp_path / "c.npy", np.full((4, 22, 3), np.nan))
    assert not (tmp_path / "b.npy").exists() and not (tmp_path / "c.npy").exists()


@pytest.mark.parametrize("rotations", ["ik", "features"])
@pytest.mark.parametrize("sample", ["humanml3d-012314", "bandai-walk"])
def test_bvh_round_trip_matches_recovered_joints(tmp_path, request, sample, rotations):
    fixture = "reference_features" if sample.startswith("humanml3d") else "bandai_features"
    features = request.getfixturevalue(fixture)
    path = tmp_path / "motion.bvh"
    write_humanml3d_bvh(path, features, rotations=rotations)
    expected = features_to_joints(features)
    error = np.linalg.norm(_bvh_joints(path) - expected, axis=-1)
    # Required: 1 cm. Measured: ~2e-6 m (humanml3d) and ~2e-5 m (bandai) for both sources.
    assert error.max() < 1e-3, f"{sample}/{rotations}: max error {error.max():.4f} m"
    # The rotation channels reproduce the reference `recover_from_rot` just as well.
    if rotations == "features":
        assert np.linalg.norm(_bvh_joints(path) - recover_from_rot(features), axis=-1).max() < 1e-3


def test_bvh_file_layout(tmp_path, reference_features):
    path = tmp_path / "motion.bvh"
    write_humanml3d_bvh(path, torch.from_numpy(reference_features), units="cm", euler_order="ZXY")
    motion = read_bvh(path)
    assert sorted(motion.names) == sorted(HUMANML3D_JOINT_NAMES) and motion.names[0] == "pelvis"
    assert motion.num_frames == 170 and motion.frame_time == pytest.approx(0.05)
    assert " ".join(motion.channels[0]) == "Xposition Yposition Zposition Zrotation Xrotation Yrotation"
    assert all(channels == ("Zrotation", "Xrotation", "Yrotation") for channels in motion.channels[1:])
    assert set(motion.end_sites) == {
        motion.index(n) for n in ("head", "left_foot", "right_foot", "left_wrist", "right_wrist")
    }
    # Centimetres: the same motion, times 100.
    np.testing.assert_allclose(_bvh_joints(path) / 100.0, features_to_joints(reference_features), atol=1e-4)


def test_rest_pose_faces_plus_z_with_left_at_plus_x(tmp_path, reference_features):
    """The rest pose (all rotations identity) is a T-pose facing +Z, left side at +X."""
    motion = humanml3d_bvh_motion(reference_features)
    rest = motion.offsets.copy()
    for j, parent in enumerate(motion.parents):
        if parent >= 0:
            rest[j] += rest[parent]
    index = {name: j for j, name in enumerate(motion.names)}
    assert rest[index["left_hip"], 0] > 0.03 and rest[index["right_hip"], 0] < -0.03
    for side, sign in (("left", 1.0), ("right", -1.0)):
        arm = rest[[index[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]]
        assert np.all(sign * np.diff(arm[:, 0]) > 0.1)  # each arm joint further out sideways
        assert np.ptp(arm[1:, 1]) < 1e-9 and np.ptp(arm[1:, 2]) < 1e-9  # in a horizontal line
    assert (
        rest[index["head"], 1] > rest[index["neck"], 1] + 0.05 > 0.5 and rest[index["left_ankle"], 1] < -0.7
    )
    np.testing.assert_allclose(rest[index["head"], [0, 2]], rest[index["neck"], [0, 2]], atol=1e-9)
    assert rest[index["left_foot"], 2] > rest[index["left_ankle"], 2] + 0.05  # toes forward
    # HumanML3D clips start facing +Z, so the pelvis' first-frame forward axis is close to +Z.
    forward = motion.rotations[0, index["pelvis"]] @ np.array([0.0, 0.0, 1.0])
    assert forward[2] > 0.9


def test_default_channels_are_smooth(tmp_path):
    """Per-joint Euler orders keep the channels off gimbal lock: no big frame-to-frame jumps in a
    take where the actor turns 90 degrees (one order for all joints would flip the pelvis' yaw)."""
    take = FIXTURES / "bandai-namco/dataset-2/data/dataset-2_walk-turn-left_exhausted_038.bvh"
    features = joints_to_features(bvh_to_humanml3d_joints(take))
    path = tmp_path / "turn.bvh"
    write_humanml3d_bvh(path, features)
    motion = read_bvh(path)
    assert motion.channels[motion.index("pelvis")][3:] == ("Yrotation", "Zrotation", "Xrotation")
    assert motion.channels[motion.index("left_knee")] == ("Zrotation", "Yrotation", "Xrotation")
    assert motion.channels[motion.index("left_elbow")] == ("Zrotation", "Xrotation", "Yrotation")
    table = np.loadtxt(path, skiprows=path.read_text().splitlines().index("MOTION") + 3)
    assert np.abs(np.diff(table[:, 3:], axis=0)).max() < 30.0  # measured 19.6 degrees


def test_joints_input_and_bone_lengths(tmp_path):
    """Raw retargeted joints (not uniform-skeleton) still come back within 1 cm."""
    joints = bvh_to_humanml3d_joints(BANDAI_WALK)
    path = tmp_path / "joints.bvh"
    write_humanml3d_bvh(path, joints)
    error = np.linalg.norm(_bvh_joints(path) - joints, axis=-1)
    assert error.max() < 0.01  # measured 0.34 cm (the toe bones stretch slightly in this take)
    with pytest.raises(LeadError, match="rotations='features' needs the 263/251-d features"):
        write_humanml3d_bvh(path, joints, rotations="features")


def test_kit_skeleton_in_millimetres(tmp_path):
    """KIT-ML joints are millimetres at 12.5 fps; the BVH is metres. Rigid motion comes back exactly."""
    skeleton = get_skeleton("kit")
    frames = 30
    rng = np.random.default_rng(0)
    local = rot.quat_to_matrix(rot.axis_angle_to_quat(rng.normal(0.0, 0.3, (frames, 21, 3))))
    translations = np.repeat(np.array(skeleton.target_offsets)[None], frames, axis=0)
    translations[:, 0] = np.stack(
        [np.linspace(0, 1000, frames), np.full(frames, 950.0), np.zeros(frames)], -1
    )
    joints = forward_kinematics(np.array(skeleton.parents), local, translations)[1]
    path = tmp_path / "kit.bvh"
    write_humanml3d_bvh(path, joints, skeleton="kit")
    motion = read_bvh(path)
    assert motion.frame_time == pytest.approx(0.08)
    positions = motion.global_positions()[:, [motion.index(name) for name in skeleton.joint_names]]
    np.testing.assert_allclose(positions, joints / 1000.0, atol=1e-5)


def test_bad_inputs_are_lead_errors(tmp_path, reference_features):
    with pytest.raises(LeadError, match=r"expected features \(T, 263\) or joints \(T, 22, 3\)"):
        write_humanml3d_bvh(tmp_path / "x.bvh", reference_features[:, :250])
    with pytest.raises(LeadError, match="NaN"):
        write_humanml3d_bvh(tmp_path / "x.bvh", np.full((5, 263), np.nan))
    with pytest.raises(LeadError, match="rotations must be 'ik' or 'features'"):
        write_humanml3d_bvh(tmp_path / "x.bvh", reference_features, rotations="6d")
    with pytest.raises(LeadError, match="units must be one of m, cm"):
        write_humanml3d_bvh(tmp_path / "x.bvh", reference_features, units="inch")
    assert not (tmp_path / "x.bvh").exists()
