"""Realigner variants of `lead train projector` (docs/realignment.md), at tiny size on real files."""

from __future__ import annotations

import shutil

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
