"""MLD's latent denoiser: a skip transformer over [timestep, text] tokens and the noisy latent
tokens; predicts the noise (stage 2). It knows nothing of noise schedules."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from torch import nn

from lead.models.config import Component, choose_preset
from lead.models.layers import (
    LearnedPositionalEncoding,
    SkipTransformerEncoder,
    encoder_layer,
    guidance_scale_embedding,
)

PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")


@dataclass(frozen=True)
class DenoiserConfig:
    latent_size: int = 1
    latent_dim: int = 256
    text_dim: int = 768
    num_layers: int = 9
    num_heads: int = 4
    ff_size: int = 1024
    dropout: float = 0.1
    condition_dropout: float = 0.1
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    # What the network outputs (its training target): "epsilon" (MLD), "v_prediction" or "sample" (z0).
    prediction_type: str = "epsilon"
    # > 0: a guidance-scale input (MotionLCM's time_cond_proj_dim, 256): the CFG weight w is embedded
    # sinusoidally and added to the timestep features, so one pass gives the guided prediction.
    guidance_embedding_dim: int = 0

    def __post_init__(self) -> None:
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type must be one of {PREDICTION_TYPES}, got {self.prediction_type!r}")

    @classmethod
    def preset(cls, name: str, **overrides) -> DenoiserConfig:
        presets = {
            "mld": cls(),
            "small": cls(latent_dim=128, num_layers=7, num_heads=4, ff_size=512),
            "tiny": cls(latent_dim=32, num_layers=3, num_heads=2, ff_size=64),
        }
        return choose_preset(presets, name, overrides)


class LatentDenoiser(Component, nn.Module):
    """forward(latent `[B, S, D]`, timesteps `[B]`, condition `[B, text_dim]`) → `[B, S, D]`: the noise ε,
    v or z0, as `config.prediction_type` says."""

    kind = "denoiser"
    config_class = DenoiserConfig

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        d = config.latent_dim
        self.time_proj = Timesteps(config.text_dim, config.flip_sin_to_cos, config.freq_shift)
        self.time_embedding = TimestepEmbedding(config.text_dim, d, cond_proj_dim=config.guidance_embedding_dim or None)
        if config.guidance_embedding_dim:
            # Zero: a student copied from its teacher starts as the teacher, whatever w is.
            nn.init.zeros_(self.time_embedding.cond_proj.weight)
        self.emb_proj = nn.Sequential(nn.ReLU(), nn.Linear(config.text_dim, d))
        self.query_pos = LearnedPositionalEncoding(d, config.latent_size + 2)
        layer = encoder_layer(d, config.num_heads, config.ff_size, config.dropout)
        self.encoder = SkipTransformerEncoder(layer, config.num_layers, d)

    def drop_condition(
        self, condition: torch.Tensor, empty: torch.Tensor, generator: torch.Generator | None = None,
        force_drop: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Classifier-free guidance dropout: replace a row of `condition` by the empty-text
        embedding with probability `condition_dropout`, or exactly where `force_drop` `[B]` is True."""
        if force_drop is None:
            draw = torch.rand(condition.shape[0], generator=generator, device=condition.device)
            force_drop = draw < self.config.condition_dropout
        return torch.where(force_drop.unsqueeze(-1), empty.expand_as(condition), condition)

    def forward(self, latent: torch.Tensor, timesteps: torch.Tensor, condition: torch.Tensor,
                guidance: torch.Tensor | None = None) -> torch.Tensor:
        """`guidance` `[B]` or `[1]`: the embedded CFG weight w (a denoiser with guidance_embedding_dim)."""
        batch = latent.shape[0]
        # Sampling passes one timestep for the whole batch: embed it once, then broadcast.
        timesteps = timesteps.reshape(-1)
        time_features = self.time_proj(timesteps).to(latent.dtype)
        cond = None
        if self.config.guidance_embedding_dim:
            if guidance is None:
                raise ValueError("this denoiser takes a guidance weight (guidance=...): sample it with the lcm sampler")
            cond = guidance_scale_embedding(guidance.reshape(-1), self.config.guidance_embedding_dim).to(latent.dtype)
            time_features = time_features.expand(cond.shape[0], -1)
        time = self.time_embedding(time_features, cond)
        time = time.expand(batch, -1).unsqueeze(1)  # [B, 1, D]
        text = self.emb_proj(condition.to(latent.dtype)).unsqueeze(1)  # [B, 1, D]
        # MLD's order: the latent tokens first, then the timestep and text tokens.
        sequence = torch.cat([latent, time, text], dim=1)
        out = self.encoder(self.query_pos(sequence))
        return out[:, : latent.shape[1]]

