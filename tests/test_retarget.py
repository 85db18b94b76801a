"""Retargeting the real Bandai-Namco and CMU takes onto the HumanML3D 22-joint layout."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from lead.errors import LeadError
from lead.motion import rotations as rot
from lead.motion.bvh import BvhMotion, read_bvh, write_bvh
from lead.motion.retarget import (
    BANDAI_MAP,
    CMU_MAP,
    auto_joint_map,
    bvh_to_humanml3d_joints,
    chain_length,
    detect_units,
    resolve_joint_map,
)
from lead.motion.skeleton import HUMANML3D_JOINT_NAMES

FIXTURES = Path(__file__).parent / "fixtures"
CMU = FIXTURES / "01_01.bvh"
BANDAI_DIR = FIXTURES / "bandai-namco"
BANDAI_WALK = BANDAI_DIR / "dataset-2/data/dataset-2_walk_normal_013.bvh"
BANDAI_ALL = sorted(BANDAI_DIR.glob("dataset-*/data/*.bvh"))

LEFT_HIP, RIGHT_HIP, HEAD = 1, 2, 15
FEET = [7, 8, 10, 11]


def _forward(joints: np.ndarray) -> np.ndarray:
    """HumanML3D's facing direction [T, 3]: cross(+Y, right - left across hips and shoulders)."""
    across = (joints[:, RIGHT_HIP] - joints[:, LEFT_HIP]) + (joints[:, 17] - joints[:, 16])
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


@pytest.mark.parametrize("path", [CMU, *BANDAI_ALL], ids=lambda p: p.stem)
def test_real_takes_give_plausible_bodies(path):
    joints = bvh_to_humanml3d_joints(path)
    assert joints.dtype == np.float32 and joints.shape[1:] == (22, 3)
    assert np.isfinite(joints).all()
    # Pose-independent size (ankle-knee-hip + pelvis-spine-neck-head bones): 1.27 m for these actors,
    # 1.47 m for HumanML3D's target skeleton.
    assert 1.1 < chain_length(joints) < 1.7
    # Metres, Y up, floor at 0: the lowest foot joint sits a few cm above the floor, and the head
    # joint (at the skull base, ~0.2 m under the crown, i.e. a stature of about 1.5-1.6 m) is
    # 1.2-1.9 m up when the actor stands tallest.
    lowest_foot = joints[:, FEET, 1].min(axis=1)
    assert -0.02 < np.percentile(lowest_foot, 5) < 0.10
    assert 1.2 < (joints[:, HEAD, 1] - lowest_foot).max() < 1.9


def test_units_and_frame_counts():
    cmu, bandai = read_bvh(CMU), read_bvh(BANDAI_WALK)
    assert detect_units(bvh_to_humanml3d_joints(cmu, fps=None, units=1.0))[0] == "cmu"
    assert detect_units(bvh_to_humanml3d_joints(bandai, fps=None, units=1.0))[0] == "cm"
    # 2752 frames at 120 fps span 22.925 s -> 459 frames at 20 fps; 210 at 30 fps -> 140.
    assert len(bvh_to_humanml3d_joints(cmu)) == 459
    assert len(bvh_to_humanml3d_joints(bandai)) == 140


def test_resampling_interpolates_linearly():
    motion = read_bvh(BANDAI_WALK)
    native = bvh_to_humanml3d_joints(motion, fps=None)
    at20 = bvh_to_humanml3d_joints(motion, fps=20)
    assert len(native) == 210
    # 20 fps frame k is 30 fps frame 1.5 k.
    np.testing.assert_allclose(at20[2], native[3], atol=1e-6)
    np.testing.assert_allclose(at20[1], 0.5 * (native[1] + native[2]), atol=1e-6)
    np.testing.assert_allclose(at20[-1], 0.5 * (native[208] + native[209]), atol=1e-6)  # 139 * 1.5 = 208.5


@pytest.mark.parametrize("path", [BANDAI_WALK, CMU], ids=["bandai-walk", "cmu-jumps"])
def test_left_and_right_are_not_swapped(path):
    """Facing +Z puts the left hip at +X, so HumanML3D's forward matches the direction of travel."""
    joints = bvh_to_humanml3d_joints(path)
    velocity = (joints[2:, 0] - joints[:-2, 0]) * 10.0  # m/s at 20 fps
    velocity[:, 1] = 0.0
    moving = np.linalg.norm(velocity, axis=-1) > 0.5
    assert moving.sum() > 20
    agree = (np.einsum("td,td->t", _forward(joints)[1:-1], velocity) > 0)[moving]
    assert agree.mean() > 0.9
    if path == BANDAI_WALK:  # walks along +Z the whole take
        assert (joints[:, LEFT_HIP, 0] > joints[:, RIGHT_HIP, 0]).mean() > 0.95


def test_builtin_maps_are_chosen_and_match_auto():
    for path, builtin in ((BANDAI_WALK, BANDAI_MAP), (CMU, CMU_MAP)):
        motion = read_bvh(path)
        assert resolve_joint_map(motion) == builtin
        assert auto_joint_map(motion) == builtin
    assert set(BANDAI_MAP) == set(CMU_MAP) == set(HUMANML3D_JOINT_NAMES)


def _renamed(motion: BvhMotion, names: dict[str, str]) -> BvhMotion:
    return dataclasses.replace(motion, names=[names.get(n, n) for n in motion.names])


MIXAMO = {
    "joint_Root": "mixamorig:Reference", "Hips": "mixamorig:Hips", "Spine": "mixamorig:Spine",
    "Chest": "mixamorig:Spine1", "Neck": "mixamorig:Neck", "Head": "mixamorig:Head",
    **{f"{b}_{s}": f"mixamorig:{side}{m}" for s, side in (("L", "Left"), ("R", "Right")) for b, m in (
        ("Shoulder", "Shoulder"), ("UpperArm", "Arm"), ("LowerArm", "ForeArm"), ("Hand", "Hand"),
        ("UpperLeg", "UpLeg"), ("LowerLeg", "Leg"), ("Foot", "Foot"), ("Toes", "ToeBase"))},
}  # fmt: skip
SMPL_STYLE = {
    "joint_Root": "root", "Hips": "Pelvis", "Spine": "Spine1", "Chest": "Spine3", "Neck": "Neck",
    "Head": "Head",
    **{f"{b}_{s}": f"{s}_{m}" for s in ("L", "R") for b, m in (
        ("Shoulder", "Collar"), ("UpperArm", "Shoulder"), ("LowerArm", "Elbow"), ("Hand", "Wrist"),
        ("UpperLeg", "Hip"), ("LowerLeg", "Knee"), ("Foot", "Ankle"), ("Toes", "Foot"))},
}  # fmt: skip
BIPED = {
    "joint_Root": "Bip01", "Hips": "Bip01 Pelvis", "Spine": "Bip01 Spine", "Chest": "Bip01 Spine1",
    "Neck": "Bip01 Neck", "Head": "Bip01 Head",
    **{f"{b}_{s}": f"Bip01 {s} {m}" for s in ("L", "R") for b, m in (
        ("Shoulder", "Clavicle"), ("UpperArm", "UpperArm"), ("LowerArm", "Forearm"), ("Hand", "Hand"),
        ("UpperLeg", "Thigh"), ("LowerLeg", "Calf"), ("Foot", "Foot"), ("Toes", "Toe0"))},
}  # fmt: skip


@pytest.mark.parametrize("names", [MIXAMO, SMPL_STYLE, BIPED], ids=["mixamo", "smpl-style", "3ds-biped"])
def test_auto_map_on_renamed_bandai_skeleton(tmp_path, names):
    motion = read_bvh(BANDAI_WALK)
    path = tmp_path / "renamed.bvh"
    write_bvh(path, _renamed(motion, names))
    renamed = read_bvh(path)
    assert renamed.names == [names[n] for n in motion.names]
    mapping = auto_joint_map(renamed)
    assert mapping["left_hip"] == names["UpperLeg_L"] and mapping["right_collar"] == names["Shoulder_R"]
    assert mapping["spine2"] == (names["Spine"], names["Chest"])
    expected = bvh_to_humanml3d_joints(motion, joint_map="bandai")
    np.testing.assert_allclose(bvh_to_humanml3d_joints(path, joint_map="auto"), expected, atol=1e-5)


def test_unmappable_skeleton_lists_what_is_missing():
    motion = read_bvh(BANDAI_WALK)
    anonymous = dataclasses.replace(motion, names=[f"bone_{j:02d}" for j in range(motion.num_joints)])
    with pytest.raises(
        LeadError, match=r"no joint found for pelvis, left_hip, .*BVH joints: bone_00, bone_01"
    ):
        bvh_to_humanml3d_joints(anonymous)
    no_toes = _renamed(motion, {"Toes_L": "Extra_L", "Toes_R": "Extra_R"})
    with pytest.raises(LeadError, match=r"no joint found for left_foot, right_foot\. BVH joints: joint_Root"):
        bvh_to_humanml3d_joints(no_toes, joint_map="auto")
    with pytest.raises(LeadError, match="the BVH has no joints Toes_L, Toes_R"):
        bvh_to_humanml3d_joints(no_toes, joint_map="bandai")
    with pytest.raises(LeadError, match="the map lacks SMPL joints head"):
        bvh_to_humanml3d_joints(motion, joint_map={k: v for k, v in BANDAI_MAP.items() if k != "head"})
    with pytest.raises(LeadError, match="unknown joint map 'mixamo'"):
        bvh_to_humanml3d_joints(motion, joint_map="mixamo")


def _transformed(motion: BvhMotion, rotation: np.ndarray, scale: float) -> BvhMotion:
    """The same take turned by `rotation` [3, 3] about the origin and with lengths times `scale`."""
    rotations = motion.rotations.copy()
    rotations[:, 0] = rotation @ rotations[:, 0]
    translations = motion.translations * scale
    translations[:, 0] = translations[:, 0] @ rotation.T
    return dataclasses.replace(
        motion, rotations=rotations, translations=translations, offsets=motion.offsets * scale
    )


@pytest.mark.parametrize("scale, units", [(0.01, "m"), (1 / 2.54, "inch"), (10.0, "mm")])
def test_z_up_and_other_units_are_normalised(scale, units):
    motion = read_bvh(BANDAI_WALK)
    expected = bvh_to_humanml3d_joints(motion)
    z_up = _transformed(motion, rot.euler_to_matrix(np.array([90.0, 0.0, 0.0]), "XYZ"), scale)
    raw = z_up.global_positions()
    assert raw[:, z_up.index("Head"), 2].mean() > raw[:, z_up.index("Foot_L"), 2].mean() + 100 * scale
    np.testing.assert_allclose(bvh_to_humanml3d_joints(z_up), expected, atol=1e-5)
    assert detect_units(bvh_to_humanml3d_joints(z_up, units=1.0))[0] == units


def test_import_bvh_command(tmp_path, capsys):
    """`lead data import-bvh`: joints and features per file, per-file errors, exit 1 if any failed."""
    from lead.cli import main
    from lead.motion.features import features_to_joints

    broken = tmp_path / "broken.bvh"
    broken.write_text(CMU.read_text()[:3000])
    out = tmp_path / "dataset"
    code = main(["data", "import-bvh", str(BANDAI_WALK), str(CMU), str(broken), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{broken}: no MOTION line" in captured.err and "1 of 3 BVH files failed" in captured.err
    assert "imported 2 of 3 BVH files" in captured.out
    for name, frames in ((BANDAI_WALK.stem, 140), ("01_01", 459)):
        joints = np.load(out / "new_joints" / f"{name}.npy")
        features = np.load(out / "new_joint_vecs" / f"{name}.npy")
        assert joints.shape == (frames, 22, 3) and joints.dtype == np.float32
        assert features.shape == (frames - 1, 263) and np.isfinite(features).all()
        # The features describe the same motion (re-targeted to HumanML3D's bone lengths).
        recovered = features_to_joints(features)
        assert abs(chain_length(recovered) - 1.47) < 0.01
        assert not (out / "new_joints" / "broken.npy").exists()
    # A JSON joint map works like the built-in one; a map that does not fit fails the file.
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in BANDAI_MAP.items()}))
    args = ["data", "import-bvh", str(BANDAI_WALK), "--out", str(tmp_path / "b"), "--map", str(mapping)]
    assert main([*args, "--quiet"]) == 0
    name = f"{BANDAI_WALK.stem}.npy"
    np.testing.assert_array_equal(
        np.load(tmp_path / "b/new_joints" / name), np.load(out / "new_joints" / name)
    )
    assert (
        main(["data", "import-bvh", str(CMU), "--out", str(tmp_path / "c"), "--map", "bandai", "--quiet"])
        == 1
    )
    assert "the BVH has no joints" in capsys.readouterr().err
