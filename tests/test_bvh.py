"""BVH reading, forward kinematics and writing on the real CMU and Bandai-Namco takes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lead.errors import LeadError
from lead.motion import rotations as rot
from lead.motion.bvh import BvhMotion, read_bvh, write_bvh

FIXTURES = Path(__file__).parent / "fixtures"
CMU = FIXTURES / "01_01.bvh"
BANDAI = sorted(FIXTURES.glob("bandai-namco/dataset-*/data/*.bvh"))
BANDAI_WALK = FIXTURES / "bandai-namco/dataset-2/data/dataset-2_walk_normal_013.bvh"


def test_reads_cmu_take():
    motion = read_bvh(CMU)
    assert motion.num_joints == 31 and motion.num_frames == 2752
    assert motion.fps == pytest.approx(120.0, rel=1e-4)
    assert motion.names[:3] == ["Hips", "LHipJoint", "LeftUpLeg"]
    assert motion.parents[0] == -1 and all(motion.parents[j] < j for j in range(1, 31))
    assert " ".join(motion.channels[0]) == "Xposition Yposition Zposition Zrotation Yrotation Xrotation"
    assert motion.channels[1] == ("Zrotation", "Yrotation", "Xrotation")
    assert len(motion.end_sites) == 7  # toes x2, head, fingers x2, thumbs x2
    # First frame of the file: root at (9.3722, 17.8693, -17.3198), LeftUpLeg Z rotation -17 degrees.
    np.testing.assert_allclose(motion.translations[0, 0], [9.3722, 17.8693, -17.3198])
    np.testing.assert_allclose(motion.rotations[0, 1], np.eye(3))
    np.testing.assert_allclose(motion.rotations[0, 2], rot.euler_to_matrix(np.array([-17.0, 0, 0]), "ZYX"))
    np.testing.assert_allclose(motion.translations[0, 2], [1.36306, -1.79463, 0.83929])
    positions = motion.global_positions()
    assert positions.shape == (2752, 31, 3)
    # Y up: the head is above the feet in every frame.
    assert np.all(positions[:, motion.index("Head"), 1] > positions[:, motion.index("LeftFoot"), 1])


@pytest.mark.parametrize("path", BANDAI, ids=lambda p: p.stem)
def test_reads_bandai_takes(path):
    motion = read_bvh(path)
    assert motion.num_joints == 22 and motion.names[0] == "joint_Root" and motion.names[1] == "Hips"
    assert motion.fps == pytest.approx(30.0, rel=1e-4)
    expected = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert all(channels == expected for channels in motion.channels)
    positions = motion.global_positions()
    # Centimetres, Y up, the floor at 0: toe joints (bone centres) are a few cm above it.
    feet = positions[:, [motion.index(n) for n in ("Toes_L", "Toes_R", "Foot_L", "Foot_R")], 1]
    assert 0.0 < feet.min() < 8.0
    assert 120.0 < np.median(positions[:, motion.index("Head"), 1]) < 180.0


def test_position_channels_replace_offsets():
    """Bandai's Hips carry their absolute position in the channels (OFFSET is a rest value)."""
    motion = read_bvh(BANDAI_WALK)
    hips = motion.index("Hips")
    np.testing.assert_allclose(motion.offsets[hips], [-0.726466, 93.3139, -2.00062])
    np.testing.assert_allclose(motion.translations[0, hips], [4.71641, 91.8293, -421.467])
    np.testing.assert_allclose(motion.global_positions()[0, hips], [4.71641, 91.8293, -421.467], atol=1e-9)


def test_forward_kinematics_matches_a_per_frame_loop():
    motion = read_bvh(BANDAI_WALK)
    frame = 57
    positions = motion.global_positions()[frame]
    rotations = [None] * motion.num_joints
    expected = np.zeros((motion.num_joints, 3))
    for j in range(motion.num_joints):
        parent = motion.parents[j]
        local = motion.rotations[frame, j]
        if parent < 0:
            rotations[j], expected[j] = local, motion.translations[frame, j]
        else:
            rotations[j] = rotations[parent] @ local
            expected[j] = expected[parent] + rotations[parent] @ motion.translations[frame, j]
    np.testing.assert_allclose(positions, expected, atol=1e-9)


@pytest.mark.parametrize("path", [CMU, BANDAI_WALK], ids=["cmu", "bandai"])
def test_write_read_round_trip(tmp_path, path):
    motion = read_bvh(path)
    out = tmp_path / "copy.bvh"
    write_bvh(out, motion)
    again = read_bvh(out)
    assert again.names == motion.names and again.channels == motion.channels
    np.testing.assert_array_equal(again.parents, motion.parents)
    assert again.frame_time == pytest.approx(motion.frame_time)
    assert set(again.end_sites) == set(motion.end_sites)
    # Six decimals in the file: positions agree to ~1e-4 file units (cm or CMU units).
    np.testing.assert_allclose(again.global_positions(), motion.global_positions(), atol=2e-4)


def test_writes_other_euler_orders_and_hinges(tmp_path):
    """Re-writing with other channel orders (and a 1-axis hinge) keeps the pose."""
    motion = read_bvh(BANDAI_WALK)
    knee = motion.index("LowerLeg_L")
    # Turn the knee into a pure hinge about its local Z axis so a single channel can hold it.
    angles = rot.matrix_to_euler(motion.rotations[:, knee], "ZXY")
    motion.rotations[:, knee] = rot.euler_to_matrix(angles * np.array([1.0, 0.0, 0.0]), "ZXY")
    orders = ["XYZ", "YZX", "ZYX", "XZY", "YXZ", "ZXY"]
    channels = [c[:3] + tuple(f"{a}rotation" for a in orders[j % 6]) for j, c in enumerate(motion.channels)]
    channels[knee] = ("Zrotation",)
    changed = dataclasses.replace(motion, channels=channels)
    changed.translations[:, knee] = changed.offsets[knee]  # no position channels on the knee now
    write_bvh(tmp_path / "orders.bvh", changed)
    again = read_bvh(tmp_path / "orders.bvh")
    assert again.channels == channels
    np.testing.assert_allclose(again.global_positions(), changed.global_positions(), atol=2e-4)


def test_ten_minute_take_loads(tmp_path):
    """A 10-minute 120 fps take (72,000 frames x 31 joints, 40 MB) reads and runs FK, frame for frame as the
    short take does (its speed is measured by benchmarks/bvh_reading.py, not asserted here)."""
    from tiny_data import write_long_cmu_take

    frames = 72_000
    positions = read_bvh(write_long_cmu_take(tmp_path / "long.bvh", frames)).global_positions()
    assert positions.shape == (frames, 31, 3)
    np.testing.assert_allclose(positions[2752 * 20 + 5], read_bvh(CMU).global_positions()[5], atol=1e-9)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    return path


GOOD = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.05
0 90 0 0 0 0 0 0 90
1 90 0 90 0 0 0 0 0
"""


def test_small_file_semantics(tmp_path):
    motion = read_bvh(_write(tmp_path, GOOD))
    assert isinstance(motion, BvhMotion) and motion.names == ["Hips", "Spine"]
    positions = motion.global_positions()
    np.testing.assert_allclose(positions[0], [[0, 90, 0], [0, 100, 0]], atol=1e-9)
    # Frame 1: Hips rotated +90 degrees about Z turn the spine's +Y offset onto -X.
    np.testing.assert_allclose(positions[1], [[1, 90, 0], [-9, 90, 0]], atol=1e-9)


@pytest.mark.parametrize(
    "broken, message",
    [
        (GOOD.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), "line 8: expected an OFFSET number"),
        (GOOD.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Zrot"), "line 9: expected a channel name"),
        (GOOD.replace("    }\n  }\n}", "    }\n  }\n"), "'}' closing joint 'Hips'"),
        (GOOD.replace("Frames: 2", "Frames: 3"), "'Frames: 3' but the MOTION section has 2 frame lines"),
        (GOOD.replace("1 90 0 90 0 0 0 0 0", "1 90 0 90 0 0 0 0"), "line 20: expected 9 channel values"),
        (GOOD.replace("1 90 0 90 0 0 0 0 0", "1 90 0 90 0 0 x 0 0"), "line 20: expected a number, found 'x'"),
        (GOOD.replace("Frame Time: 0.05", "Frame Tim: 0.05"), "line 17: expected 'Frames: N'"),
        (GOOD.replace("MOTION", "MOTON"), "no MOTION line"),
        (GOOD.replace("HIERARCHY", "HIERARCHIE"), "line 1: expected 'HIERARCHY'"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, broken, message):
    with pytest.raises(LeadError, match=message.replace("(", r"\(").replace("'", "'")):
        read_bvh(_write(tmp_path, broken))


def test_missing_file_is_a_lead_error(tmp_path):
    with pytest.raises(LeadError, match="cannot read BVH file"):
        read_bvh(tmp_path / "nope.bvh")
