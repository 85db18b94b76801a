"""Motion-quality metrics on real Bandai-Namco takes (tests/fixtures): real motion passes, a frozen
copy of it (the failure mode of an under-trained VAE: one pose gliding along the path) fails."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lead.evaluation import motion_quality as mq
from lead.motion.features import features_to_joints, joints_to_features
from lead.motion.retarget import bvh_to_humanml3d_joints

FIXTURES = Path(__file__).parent / "fixtures" / "bandai-namco"
WALK = FIXTURES / "dataset-2/data/dataset-2_walk_normal_013.bvh"
TURN_LEFT = FIXTURES / "dataset-2/data/dataset-2_walk-turn-left_exhausted_038.bvh"
BOW = FIXTURES / "dataset-1/data/dataset-1_bow_chimpira_001.bvh"
WAVE_LEFT = FIXTURES / "dataset-2/data/dataset-2_wave-left-hand_normal_024.bvh"
RUN = FIXTURES / "dataset-1/data/dataset-1_run_giant_001.bvh"


def _take(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features, joints) in the HumanML3D frame (floor at y = 0), as the dataset builder writes them."""
    features = joints_to_features(bvh_to_humanml3d_joints(path))
    return features, np.asarray(features_to_joints(features), dtype=np.float64)


def _glide(joints: np.ndarray) -> np.ndarray:
    """The first pose, carried along the real root trajectory: travel without steps."""
    frozen = np.repeat(joints[:1], len(joints), axis=0)
    offset = joints[:, :1] - joints[:1, :1]
    offset[..., 1] = 0.0
    return frozen + offset


def test_real_walk_has_steps_and_little_skating():
    _, walk = _take(WALK)
    metrics = mq.motion_metrics(walk)
    assert metrics["stride"] > 0.25, metrics  # the feet alternate by tens of centimetres
    assert metrics["skate_ratio"] < 0.35, metrics
    assert metrics["penetration"] < 0.01 and metrics["float_ratio"] == 0.0
    assert 0.1 < metrics["joint_speed"] < 1.5
    assert np.isfinite(metrics["jerk"]) and metrics["jerk"] > 0


def test_a_gliding_copy_of_the_walk_fails():
    _, walk = _take(WALK)
    real, glide = mq.motion_metrics(walk), mq.motion_metrics(_glide(walk))
    assert glide["stride"] < 0.05 * real["stride"]
    assert glide["joint_speed"] < 0.05 * real["joint_speed"]
    assert glide["skate_ratio"] > 2 * real["skate_ratio"]  # the planted feet slide along with the body
    assert glide["skate_speed"] > 0


def test_jerk_grows_with_noise():
    _, walk = _take(WALK)
    noisy = walk + np.random.default_rng(0).normal(0, 0.01, walk.shape)
    assert mq.motion_metrics(noisy)["jerk"] > 3 * mq.motion_metrics(walk)["jerk"]


def test_turn_sign_follows_the_take_and_its_reverse():
    _, turn = _take(TURN_LEFT)
    assert mq.heading_change(turn) > 45
    assert mq.semantic_checks(turn, "a person walks forward and turns left")["turn_sign"] == 1.0
    assert mq.semantic_checks(turn, "a person walks and turns right")["turn_sign"] == 0.0
    assert mq.semantic_checks(turn[::-1], "a person walks forward and turns left")["turn_sign"] == 0.0


def test_named_hand_and_backwards_walk():
    _, wave = _take(WAVE_LEFT)
    assert mq.semantic_checks(wave, "someone waves with the left hand")["named_hand"] == 1.0
    assert mq.semantic_checks(wave, "someone waves with the right hand")["named_hand"] == 0.0
    assert "named_hand" not in mq.semantic_checks(wave, "someone waves with both hands, left hand first")
    _, walk = _take(WALK)
    assert mq.semantic_checks(walk, "a person walks backwards")["backwards"] == 0.0
    assert mq.semantic_checks(walk[::-1], "a person walks backwards")["backwards"] == 1.0
    reversed_checks = mq.semantic_checks(walk[::-1], "a person walks backwards")
    assert reversed_checks["backwards_speed"] > 0.5 and reversed_checks["backwards_walk"] == 1.0
    # Stepping on the spot with a slight drift back passes "backwards" but not "backwards_walk".
    drift = np.repeat(walk[:1], len(walk), axis=0).astype(np.float64)
    drift[:, :, [0, 2]] -= np.linspace(0, 0.1, len(walk))[:, None, None] * mq.facing(walk[:5]).mean(0)[[0, 2]]
    on_spot = mq.semantic_checks(drift, "a person walks backwards")
    assert on_spot["backwards"] == 1.0 and on_spot["backwards_walk"] == 0.0


def test_bow_lowers_the_head_and_a_frozen_bow_does_not():
    _, bow = _take(BOW)
    checks = mq.semantic_checks(bow, "the person bows politely")
    assert checks["bow_drop"] > 0.2 and checks["bow_20cm"] == 1.0
    frozen = mq.semantic_checks(np.repeat(bow[:1], len(bow), axis=0), "the person bows politely")
    assert frozen["bow_drop"] == pytest.approx(0.0) and frozen["bow_20cm"] == 0.0


def test_summary_intervals_and_run_faster_than_walk():
    _, walk = _take(WALK)
    _, run = _take(RUN)
    summary = mq.summarize([walk, run, walk[::2]], ["a person walks", "a person runs", "someone waves"])
    assert summary["run_faster"].mean == 1.0 and summary["run_faster"].count == 1
    assert summary["stride"].count == 2  # locomotion captions only
    assert summary["jerk"].count == 3 and summary["jerk"].half_width > 0
    swapped = mq.summarize([run, walk], ["a person walks", "a person runs"])
    assert swapped["run_faster"].mean == 0.0
    with pytest.raises(ValueError):
        mq.summarize([walk], [])


def test_eval_motion_command(tiny_model, tiny_dataset, tmp_path, capsys):
    """The command on the tiny model: every set measured, files written."""
    from lead.cli import main

    out = tmp_path / "motion"
    code = main(["eval", "motion", "--data", str(tiny_dataset), "--model", str(tiny_model), "--split", "test",
                 "--steps", "2", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "motion.json").read_text())
    assert set(report["sets"]) == {"real", "vae", "mld", "lead"}
    assert report["clips"] == 2
    for name in report["sets"]:
        assert report["sets"][name]["jerk"]["n"] == 2 and np.isfinite(report["sets"][name]["jerk"]["mean"])
    assert "| metric | real | vae | mld | lead |" in (out / "motion.md").read_text()
    assert "wrote" in capsys.readouterr().out


def test_shipped_vae_keeps_a_real_walks_steps():
    """The shipped model's VAE must reconstruct the steps of a real walk (stride ≥ 70% of the real one)."""
    import torch

    from lead.evaluation.motion_sets import vae_round_trip
    from lead.models.bundle import default_model_path
    from lead.models.vae import MotionVAE
    from lead.motion.features import Normalizer

    folder = default_model_path()
    vae, normalizer = MotionVAE.load(folder / "vae"), Normalizer.load(folder)
    features, walk = _take(WALK)
    features = features[: vae.config.max_length]
    torch.manual_seed(0)
    _, (decoded,) = vae_round_trip(vae, normalizer, [features.astype(np.float32)])
    real, recon = mq.motion_metrics(walk[: len(features)]), mq.motion_metrics(decoded)
    assert recon["stride"] >= 0.7 * real["stride"], (recon["stride"], real["stride"])
    assert recon["joint_speed"] >= 0.6 * real["joint_speed"], (recon["joint_speed"], real["joint_speed"])
