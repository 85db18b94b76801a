"""Foot-contact cleanup (lead.motion.contacts) on a real Bandai-Namco walk: a walk made to slide is
brought back to planted feet, a real walk is left as it is, and the pose never changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lead.errors import LeadError
from lead.evaluation import motion_quality as mq
from lead.motion.contacts import FootCleanup, check_foot_cleanup, clean_feet
from lead.motion.features import features_to_joints, joints_to_features
from lead.motion.retarget import bvh_to_humanml3d_joints

WALK = Path(__file__).parent / "fixtures" / "bandai-namco" / "dataset-2/data/dataset-2_walk_normal_013.bvh"


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    return joints_to_features(bvh_to_humanml3d_joints(WALK))


def _travel(joints: np.ndarray) -> float:
    return float(np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]))


def _pose(joints: np.ndarray) -> np.ndarray:
    return joints - joints[:, :1] * np.array([1.0, 0.0, 1.0])


def _sliding(features: np.ndarray, extra: float = 0.03) -> np.ndarray:
    """The same walk with the root pushed forward `extra` m per frame: the feet slide while planted."""
    slid = features.copy()
    slid[:, 2] += extra
    return slid


def test_a_sliding_walk_gets_its_feet_planted_back(walk):
    real = features_to_joints(walk)
    slid = features_to_joints(_sliding(walk))
    cleaned = features_to_joints(clean_feet(_sliding(walk)))
    real_skate, slid_skate, clean_skate = (mq.skating(j)[0] for j in (real, slid, cleaned))
    assert slid_skate > 2 * real_skate + 0.1, (real_skate, slid_skate)
    assert clean_skate < real_skate + 0.5 * (slid_skate - real_skate), (real_skate, slid_skate, clean_skate)
    # the slide is taken out of the path: travel comes back towards the real walk's
    assert abs(_travel(cleaned) - _travel(real)) < 0.5 * abs(_travel(slid) - _travel(real))
    # only the root's horizontal path moves; the pose relative to it is the same
    np.testing.assert_allclose(_pose(cleaned), _pose(slid), atol=1e-4)
    assert mq.motion_metrics(cleaned)["jerk"] < 1.5 * mq.motion_metrics(real)["jerk"]


def test_a_real_walk_is_left_as_it_is(walk):
    real = features_to_joints(walk)
    cleaned = features_to_joints(clean_feet(walk))
    assert mq.skating(cleaned)[0] <= mq.skating(real)[0] + 0.02
    assert abs(_travel(cleaned) - _travel(real)) < 0.1 * _travel(real)
    assert mq.motion_metrics(cleaned)["stride"] == pytest.approx(mq.motion_metrics(real)["stride"], rel=0.02)


def test_a_swinging_foot_marked_in_contact_is_not_pinned(walk):
    """Every contact channel forced to "planted": the speed gate leaves the real walk's swinging feet
    alone (travel and skating as real), where pinning every low foot stops the body at each step."""
    marked = walk.copy()
    from lead.motion.features import feature_slices

    marked[:, feature_slices()["feet"]] = 1.0
    real = features_to_joints(walk)
    gated = features_to_joints(clean_feet(marked))
    ungated = features_to_joints(clean_feet(marked, settings=FootCleanup(speed_high=None)))
    assert abs(_travel(gated) - _travel(real)) < 0.05 * _travel(real), (_travel(gated), _travel(real))
    assert _travel(ungated) < 0.9 * _travel(real), (_travel(ungated), _travel(real))
    assert mq.skating(gated)[0] <= mq.skating(real)[0] + 0.02


@pytest.mark.parametrize("speeds", [(1.2, 0.6), (-0.1, 1.0), (0.5, 0.5)])
def test_bad_speed_gate_is_refused(speeds):
    with pytest.raises(ValueError, match="speed_low < speed_high"):
        FootCleanup(speed_low=speeds[0], speed_high=speeds[1])


def test_strength_zero_is_the_identity_and_features_stay_consistent(walk):
    np.testing.assert_allclose(clean_feet(walk, settings=FootCleanup(strength=0)), walk, atol=1e-6)
    # the joint-velocity channels carry the corrected displacement too (what the T2M evaluator reads)
    cleaned = clean_feet(_sliding(walk))
    joints = features_to_joints(cleaned)
    step = joints[1:, 0] - joints[:-1, 0]
    from lead.motion import rotations as rot
    from lead.motion.features import feature_slices, recover_root

    quat, _ = recover_root(cleaned)
    stored = cleaned[:-1, feature_slices()["vel"]].reshape(len(cleaned) - 1, -1, 3)[:, 0]
    original = _sliding(walk)[:-1, feature_slices()["vel"]].reshape(len(walk) - 1, -1, 3)[:, 0]
    before = features_to_joints(_sliding(walk))
    # stored root velocity moved by exactly the change of the root's step, in the facing frame
    change = rot.quat_rotate(quat[:-1], (step - (before[1:, 0] - before[:-1, 0])))
    np.testing.assert_allclose((stored - original)[:, [0, 2]], change[:, [0, 2]], atol=2e-3)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf")])
def test_bad_strength_is_refused(bad):
    with pytest.raises(LeadError, match="0 \\(off\\) to 1"):
        check_foot_cleanup(bad, "--foot-cleanup")


def test_generate_cli_refuses_a_bad_strength(tmp_path, capsys):
    from lead.cli import main

    assert main(["generate", "a person walks", "--foot-cleanup", "2", "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--foot-cleanup" in err[0]
    assert not (tmp_path / "o").exists()


def test_pipeline_records_and_applies_the_cleanup():
    from lead import TextToMotionPipeline

    pipe = TextToMotionPipeline.from_pretrained()
    off = pipe("a person walks forward", 80, seed=3, foot_cleanup=0.0)
    on = pipe("a person walks forward", 80, seed=3, foot_cleanup=1.0)
    assert off.settings["foot_cleanup"] == 0.0 and on.settings["foot_cleanup"] == 1.0
    np.testing.assert_allclose(_pose(on.joints[0]), _pose(off.joints[0]), atol=1e-4)
    assert mq.skating(on.joints[0])[0] <= mq.skating(off.joints[0])[0]


def test_a_model_config_with_an_out_of_range_cleanup_is_refused_at_load(tmp_path):
    import json
    import shutil

    from lead.models.bundle import default_model_path, read_bundle_config

    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    data = json.loads((model / "config.json").read_text())
    data["config"]["foot_cleanup"] = 3.0
    (model / "config.json").write_text(json.dumps(data))
    with pytest.raises(LeadError, match="config.json: foot_cleanup must be from 0"):
        read_bundle_config(model)
