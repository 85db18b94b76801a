"""Realigner variants of `lead train projector` (docs/realignment.md), at tiny size on real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lead.cli import main
from lead.models.projector import LatentProjector, ProjectorConfig
from lead.train.realign import DenoisingInputs


def _config(**overrides) -> ProjectorConfig:
    return ProjectorConfig.preset("tiny", latent_size=5, latent_dim=8, text_dim=16, dropout=0.0, **overrides)


def test_sum_reduced_reconstruction_is_the_squared_norm_per_latent():
    torch.manual_seed(0)
    latent, text = torch.randn(4, 5, 8), torch.randn(4, 16)
    mean = LatentProjector(_config())
    summed = LatentProjector(_config(rec_reduction="sum"))
    summed.load_state_dict(mean.state_dict())
    rec_mean = mean.loss(latent, text)["rec"]
    rec_sum = summed.loss(latent, text)["rec"]
    torch.testing.assert_close(rec_sum, rec_mean * 5 * 8)


def test_per_token_alignment_constrains_every_token():
    """With the mean, tokens that cancel out cost nothing; per-token alignment charges each of them."""
    torch.manual_seed(0)
    projector = LatentProjector(_config(align_mode="token"))
    latent, text = torch.randn(3, 5, 8), torch.randn(3, 16)
    projected = projector.encode(latent)
    expected = (1 - torch.nn.functional.cosine_similarity(projected, text[:, None].expand_as(projected), dim=-1)).mean()
    torch.testing.assert_close(projector.loss(latent, text)["align"], expected)
    mean = LatentProjector(_config())
    mean.load_state_dict(projector.state_dict())
    assert not torch.allclose(mean.loss(latent, text)["align"], expected)


def test_attention_pooling_is_a_convex_combination_and_learns():
    torch.manual_seed(0)
    projector = LatentProjector(_config(align_mode="attention"))
    projected = torch.randn(2, 5, 16)
    summary = projector.summary(projected)
    assert summary.shape == (2, 16)
    # zero query: uniform weights, the mean
    torch.testing.assert_close(summary, projected.mean(1))
    loss = projector.loss(torch.randn(2, 5, 8), torch.randn(2, 16))["loss"]
    loss.backward()
    assert projector.pool_query.grad is not None and projector.pool_query.grad.abs().sum() > 0


def test_unknown_variant_names_are_refused():
    with pytest.raises(ValueError, match="align_mode"):
        LatentProjector(_config(align_mode="max"))
    with pytest.raises(ValueError, match="rec_reduction"):
        LatentProjector(_config(rec_reduction="median"))


def test_denoising_inputs_are_the_samplers_estimates(tiny_model):
    """Rows not drawn stay the clean latent; drawn rows are DDIM estimates from their start level, and the
    one-step level (t = 1) is close to the latent while higher levels move further."""
    from lead.models.denoiser import LatentDenoiser

    denoiser = LatentDenoiser.load(tiny_model / "denoiser").eval()
    shape = (6, denoiser.config.latent_size, denoiser.config.latent_dim)
    latent = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    condition, empty = torch.randn(6, denoiser.config.text_dim), torch.zeros(1, denoiser.config.text_dim)
    none = DenoisingInputs(max_t=1, fraction=1e-9).estimate(denoiser, latent, condition, empty,
                                                            torch.Generator().manual_seed(1))
    torch.testing.assert_close(none, latent)
    near = DenoisingInputs(max_t=1, fraction=1.0).estimate(denoiser, latent, condition, empty,
                                                           torch.Generator().manual_seed(1))
    far = DenoisingInputs(max_t=981, fraction=1.0).estimate(denoiser, latent, condition, empty,
                                                            torch.Generator().manual_seed(1))
    assert torch.isfinite(far).all() and not torch.allclose(near, latent)
    assert (near - latent).norm() < (far - latent).norm()
    with pytest.raises(ValueError, match="max_t"):
        DenoisingInputs(max_t=0)


def test_train_projector_variants_from_the_cli(tiny_model, tiny_dataset, tmp_path, capsys):
    """`--init-from` starts from the model's projector; `--denoise-max-t`, `--align-mode`, `--rec-reduction`
    train and save a projector whose config records the variant; bad values are one-line errors."""
    out = tmp_path / "model"
    shutil.copytree(tiny_model, out)
    common = ["train", "projector", "--data", str(tiny_dataset), "--out", str(out), "--preset", "tiny",
              "--batch-size", "4", "--max-steps", "2", "--log-every", "1", "--checkpoint-every", "5"]
    assert main([*common, "--name", "projector-dn", "--init-from", str(out), "--denoise-max-t", "41",
                 "--rec-reduction", "sum", "--align-mode", "attention"]) == 0
    trained = LatentProjector.load(out / "projector-dn")
    assert (trained.config.rec_reduction, trained.config.align_mode) == ("sum", "attention")
    start = LatentProjector.load(out / "projector")
    assert trained.config.num_layers == start.config.num_layers
    assert main([*common, "--name", "projector-tok", "--align-mode", "token"]) == 0
    assert LatentProjector.load(out / "projector-tok").config.align_mode == "token"
    capsys.readouterr()
    assert main([*common, "--name", "projector-bad", "--denoise-max-t", "2000"]) != 0
    err = capsys.readouterr().err
    assert "--denoise-max-t" in err and "Traceback" not in err
    assert main([*common, "--name", "projector-bad", "--init-from", str(tmp_path / "nothing")]) != 0
    assert "no projector there" in capsys.readouterr().err


# --- the paired study and the paper-regime recipe, at tiny size --------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def eval_data(tiny_dataset, tmp_path_factory) -> Path:
    """The tiny dataset with every clip in the val and test splits (12 items)."""
    root = tmp_path_factory.mktemp("realign_data") / "data"
    shutil.copytree(tiny_dataset, root)
    clips = sorted(p.stem for p in (root / "new_joint_vecs").glob("*.npy"))
    for split in ("val", "test"):
        (root / f"{split}.txt").write_text("\n".join(clips) + "\n")
    return root


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory) -> Path:
    """A random evaluator in lead's folder format; 8-d embeddings so 12 items give full-rank covariances."""
    from lead.evaluation.evaluator import EvaluatorConfig, T2MEvaluator
    from lead.evaluation.word_vectorizer import MiniLMWordVectors, WordVectorizer

    fixtures = Path(__file__).parent / "fixtures" / "humanml3d-reference"
    config = EvaluatorConfig(dim_word=384, dim_movement_enc_hidden=16, dim_movement_latent=16,
                             dim_motion_hidden=16, dim_text_hidden=16, dim_coemb_hidden=8)
    folder = tmp_path_factory.mktemp("realign_evaluator")
    T2MEvaluator(config, np.load(fixtures / "Mean.npy"), np.load(fixtures / "Std.npy"),
                 WordVectorizer(MiniLMWordVectors()), seed=1).save(folder, extra={"training": {"min_length": 40}})
    return folder


def test_realignment_study_pairs_every_row_on_the_same_latents(tiny_model, eval_data, evaluator, tmp_path):
    """The study decodes one set of latents per regime by MLD and each projector: a projector that is the
    identity gives MLD's FID and ratios of exactly 1; noise regimes and guidance sweeps run."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("runs"))
    identity = LatentProjector.load(model / "projector")
    out = tmp_path / "study"
    script = ROOT / "benchmarks" / "realignment_study.py"
    result = subprocess.run(
        [sys.executable, str(script), "--data", str(eval_data), "--evaluator", str(evaluator), "--model", str(model),
         "--projectors", "projector", "--regimes", "ddim:3", "ddim:3:g2", "noise:0.5", "--replications", "2",
         "--batch-size", "8", "--out", str(out)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "study.json").read_text())
    summary = report["summary"]
    assert set(summary) == {"ddim:3", "ddim:3:g2", "noise:0.5"}
    for regime in summary.values():
        assert set(regime) == {"mld", "projector"}
        mld = regime["mld"]
        assert mld["fid_minus_mld"] == [0.0, 0.0] and mld["joint_speed_ratio"][0] == pytest.approx(1.0)
        assert all(np.isfinite(regime["projector"]["fid"]))
    assert len(report["regimes"]["ddim:3"]["mld"]["fid"]) == 2
    # guidance changes the latents; the noise regime moves them further from the data
    assert summary["ddim:3"]["mld"]["fid"][0] != summary["ddim:3:g2"]["mld"]["fid"][0]
    assert "| projector |" in (out / "study.md").read_text()
    assert identity.config.latent_dim > 0


@pytest.mark.slow
def test_paper_regime_recipe_runs_end_to_end_at_tiny_size(tiny_dataset, eval_data, evaluator, tmp_path):
    """scripts/train_paper_regime.sh (MLD's 1-token latent, epsilon prediction, the projector with the sum L_rec
    and a mean-reduced one, then the study) on the CPU with every budget at a few steps."""
    work = tmp_path / "paper"
    env = {**os.environ, "PRESET": "tiny", "VAE_STEPS": "3", "DENOISER_STEPS": "3", "PROJECTOR_STEPS": "2",
           "BATCH": "4", "PROJECTOR_BATCH": "4", "STUDY_LIMIT": "0", "STUDY_REPLICATIONS": "1", "EXTRA_ARGS": "",
           "OMP_NUM_THREADS": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "train_paper_regime.sh"), str(eval_data),
                             str(evaluator), str(work)], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    from lead.models.denoiser import LatentDenoiser
    from lead.models.vae import MotionVAE

    assert MotionVAE.load(work / "vae").config.latent_size == 1
    assert LatentDenoiser.load(work / "denoiser").config.prediction_type == "epsilon"
    assert LatentProjector.load(work / "projector").config.rec_reduction == "sum"
    summary = json.loads((work / "study" / "study.json").read_text())["summary"]
    assert set(summary["ddim:50:g7.5"]) == {"mld", "projector", "projector-mean"}
