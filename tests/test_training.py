"""The three stages train through `lead train`, export loadable components, and resume."""

from __future__ import annotations

import json

import torch

from lead.cli import main
from lead.models.denoiser import LatentDenoiser
from lead.models.projector import LatentProjector
from lead.models.vae import MotionVAE


def test_stages_export_loadable_components(tiny_model):
    vae = MotionVAE.load(tiny_model / "vae")
    denoiser = LatentDenoiser.load(tiny_model / "denoiser")
    projector = LatentProjector.load(tiny_model / "projector")
    assert vae.config.latent_dim == denoiser.config.latent_dim == projector.config.latent_dim
    assert denoiser.config.text_dim == projector.config.text_dim == 384
    bundle = json.loads((tiny_model / "config.json").read_text())["config"]
    assert bundle["latent_scale"] > 0 and bundle["latent_scale"] != 1.0
    assert bundle["text_encoder_identity"].startswith("minilm")
    for stage in ("vae", "denoiser", "projector"):
        metrics = (tiny_model / "runs" / stage / "logs" / "version_0" / "metrics.csv").read_text()
        assert "train/loss" in metrics
        assert (tiny_model / "runs" / stage / "checkpoints" / "last.ckpt").is_file()


def test_resume_continues_from_last_checkpoint(tiny_dataset, tmp_path):
    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "4"]
    assert main(["train", "vae", *common, "--max-steps", "3"]) == 0
    first = torch.load(tmp_path / "runs/vae/checkpoints/last.ckpt", weights_only=False)["global_step"]
    assert main(["train", "vae", *common, "--max-steps", "5", "--resume"]) == 0
    second = torch.load(tmp_path / "runs/vae/checkpoints/last.ckpt", weights_only=False)["global_step"]
    assert (first, second) == (3, 5)


def test_vae_loss_falls_on_real_motion(tiny_dataset, tmp_path):
    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "8",
              "--lr", "2e-3", "--log-every", "1"]
    assert main(["train", "vae", *common, "--max-steps", "40"]) == 0
    rows = (tmp_path / "runs/vae/logs/version_0/metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    column = header.index("train/mse")
    values = [float(r.split(",")[column]) for r in rows[1:] if r.split(",")[column]]
    assert sum(values[-5:]) / 5 < 0.8 * sum(values[:5]) / 5


def test_missing_vae_is_a_clear_error(tiny_dataset, tmp_path, capsys):
    code = main(["train", "denoiser", "--data", str(tiny_dataset), "--out", str(tmp_path / "nothing")])
    assert code == 2
    assert "train the VAE first" in capsys.readouterr().err
