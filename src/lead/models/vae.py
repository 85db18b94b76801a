"""MLD's motion VAE: a skip-transformer encoder over two distribution tokens plus the motion,
and a skip-transformer decoder from the latent to zero motion queries (stage 1)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lead.models.config import Component, choose_preset
from lead.models.layers import (
    LearnedPositionalEncoding,
    SkipTransformerDecoder,
    SkipTransformerEncoder,
    decoder_layer,
    encoder_layer,
    lengths_to_mask,
    overlap_add,
    triangular_window,
)


@dataclass(frozen=True)
class VAEConfig:
    feature_dim: int = 263
    latent_size: int = 1
    latent_dim: int = 256
    num_layers: int = 9
    num_heads: int = 4
    ff_size: int = 1024
    dropout: float = 0.1
    max_length: int = 200
    kl_weight: float = 1e-4
    # How the positional tables start: "uniform" (MLD's U(0, 1)) or "sinusoidal" (Vaswani's table,
    # still learned). The decoder's queries are nothing but these positions, so with U(0, 1) every
    # frame starts as unrelated noise and a briefly trained decoder outputs one pose for the whole
    # clip; sinusoids give it a smooth basis over time from the first step (docs/vae_sweep.md).
    position_init: str = "uniform"
    # Weight of an MSE on frame-to-frame differences of the normalised features (0 = MLD's loss):
    # feature MSE alone is nearly satisfied by the clip's mean pose; this term pays for motion.
    velocity_weight: float = 0.0
    # Weight of an MSE on second differences (acceleration) of the normalised features: penalises
    # frame-to-frame jitter, which shows as jerk, more than the velocity term does.
    acceleration_weight: float = 0.0
    # A constant added to the encoder's log-variance token (0 = MLD). The encoder's output goes
    # through the skip stack's final LayerNorm, so logvar starts near 0: posterior noise of std ~1 on
    # a mean of unit scale. The decoder then sees latents at a signal-to-noise ratio near 1 and learns
    # the clip's mean pose first; MLD's long training slowly pushes logvar down. A shift of -6 (std
    # 0.05) lets the decoder read the latent from the first step; the KL term still regularises mu.
    logvar_bias: float = 0.0
    # Frames per transformer token (1 = MLD: every frame is a token). With p > 1 the encoder embeds
    # p consecutive frames together and the decoder emits p frames per query (a temporal "patch", as
    # ViT does for images): p× fewer tokens, ~p× cheaper steps, the same `[B, S, D]` latent.
    frames_per_token: int = 1
    # With frames_per_token p > 1: "overlap" makes each decoder token emit 2p frames that overlap
    # half of each neighbour's and blend with a triangular window (overlap-add), so the output is
    # continuous across token boundaries; "patch" emits p frames per token, and the steps between
    # patches show as jerk (7.9x real after 770 steps in docs/vae_sweep.md).
    output_window: str = "patch"
    # "global": MLD's latent tokens, each summarising the whole clip (the decoder's frames cross-attend
    # to them). "temporal": latent token k holds frames [k·p, (k+1)·p) with p = frames_per_token and
    # latent_size = ceil(max_length / p) (lead.models.vae_temporal): a fixed `[S, D]` latent like MLD's,
    # so the denoiser and projector are unchanged, but each token encodes a short stretch of motion.
    # MLD's layout did not learn leg motion in the CPU budget (docs/vae_sweep.md); this one does.
    layout: str = "global"

    @classmethod
    def preset(cls, name: str, **overrides) -> VAEConfig:
        presets = {
            "mld": cls(),
            # What trains on a 2-core CPU within an hour, and keeps the steps of a walk: MLD's layout at
            # this size did not (docs/vae_sweep.md), the temporal layout does (a 25×128 latent).
            "small": cls(latent_dim=128, num_layers=3, num_heads=4, ff_size=256, layout="temporal",
                         frames_per_token=8, latent_size=25, position_init="sinusoidal", velocity_weight=1.0,
                         acceleration_weight=1.0, dropout=0.0, logvar_bias=-6.0),
            # MLD's layout at the small size (the first shipped model's VAE).
            "small-global": cls(latent_dim=128, num_layers=3, num_heads=4, ff_size=256),
            "tiny": cls(latent_dim=32, num_layers=3, num_heads=2, ff_size=64),
        }
        return choose_preset(presets, name, overrides)


class MotionVAE(Component, nn.Module):
    """encode: features `[B, T, F]` + lengths `[B]` → latent `[B, latent_size, D]`;
    decode: latent + lengths → features `[B, T, F]` (zero past each length)."""

    kind = "vae"
    config_class = VAEConfig

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        d, patch = config.latent_dim, config.frames_per_token
        if config.position_init not in ("uniform", "sinusoidal"):
            raise ValueError(f"position_init must be 'uniform' or 'sinusoidal', got {config.position_init!r}")
        if patch < 1:
            raise ValueError(f"frames_per_token must be >= 1, got {patch}")
        if config.layout not in ("global", "temporal"):
            raise ValueError(f"layout must be 'global' or 'temporal', got {config.layout!r}")
        if config.layout == "temporal":
            from lead.models.vae_temporal import TemporalCodec

            self.temporal = TemporalCodec(config)
            return
        self.skel_embedding = nn.Linear(config.feature_dim * patch, d)
        self.global_motion_token = nn.Parameter(torch.randn(config.latent_size * 2, d))
        init = config.position_init
        tokens = self.tokens_for(config.max_length)
        self.query_pos_encoder = LearnedPositionalEncoding(d, tokens + 2 * config.latent_size, init=init)
        self.query_pos_decoder = LearnedPositionalEncoding(d, tokens, init=init, step=patch)
        layer = encoder_layer(d, config.num_heads, config.ff_size, config.dropout)
        self.encoder = SkipTransformerEncoder(layer, config.num_layers, d)
        layer = decoder_layer(d, config.num_heads, config.ff_size, config.dropout)
        self.decoder = SkipTransformerDecoder(layer, config.num_layers, d)
        if config.output_window not in ("patch", "overlap"):
            raise ValueError(f"output_window must be 'patch' or 'overlap', got {config.output_window!r}")
        self.overlap = patch > 1 and config.output_window == "overlap"
        self.final_layer = nn.Linear(d, config.feature_dim * patch * (2 if self.overlap else 1))
        if self.overlap:
            self.register_buffer("window", triangular_window(patch), persistent=False)

    def tokens_for(self, frames: int) -> int:
        """Transformer tokens that hold `frames` frames."""
        return -(-int(frames) // self.config.frames_per_token)

    def _patch(self, features: torch.Tensor) -> torch.Tensor:
        """`[B, T, F]` → `[B, ceil(T/p), p·F]`, zero-padding the last patch."""
        batch, frames, dim = features.shape
        patch = self.config.frames_per_token
        tokens = self.tokens_for(frames)
        if tokens * patch != frames:
            features = torch.cat([features, features.new_zeros(batch, tokens * patch - frames, dim)], dim=1)
        return features.reshape(batch, tokens, patch * dim)

    def encode_distribution(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (mu, logvar), each `[B, latent_size, D]`."""
        if self.config.layout == "temporal":
            return self.temporal.encode_distribution(features, lengths)
        batch, frames, _ = features.shape
        patch = self.config.frames_per_token
        mask = lengths_to_mask((lengths + patch - 1) // patch, self.tokens_for(frames))
        x = self.skel_embedding(self._patch(features))  # [B, T/p, D]
        tokens = self.global_motion_token.unsqueeze(0).expand(batch, -1, -1)  # [B, 2S, D]
        sequence = self.query_pos_encoder(torch.cat([tokens, x], dim=1))
        token_mask = torch.ones(batch, tokens.shape[1], dtype=torch.bool, device=features.device)
        padding = ~torch.cat([token_mask, mask], dim=1)
        out = self.encoder(sequence, key_padding_mask=padding)[:, : tokens.shape[1]]
        size = self.config.latent_size
        return out[:, :size], out[:, size:] + self.config.logvar_bias

    def encode(
        self, features: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator | None = None,
        sample: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (latent, mu, logvar); latent is a reparameterised sample (or mu if `sample=False`)."""
        mu, logvar = self.encode_distribution(features, lengths)
        if not sample:
            return mu, mu, logvar
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + noise * torch.exp(0.5 * logvar), mu, logvar

    def decode(self, latent: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = torch.as_tensor(lengths, device=latent.device)
        if self.config.layout == "temporal":
            return self.temporal.decode(latent, lengths)
        batch = latent.shape[0]
        frames = int(lengths.max())
        patch = self.config.frames_per_token
        tokens = self.tokens_for(frames)
        token_mask = lengths_to_mask((lengths + patch - 1) // patch, tokens)
        queries = torch.zeros(batch, tokens, self.config.latent_dim, device=latent.device, dtype=latent.dtype)
        queries = self.query_pos_decoder(queries)
        out = self.decoder(queries, latent, tgt_key_padding_mask=~token_mask)
        if self.overlap:
            features = self._overlap_add(self.final_layer(out), tokens)[:, :frames]
        else:
            features = self.final_layer(out).reshape(batch, tokens * patch, self.config.feature_dim)[:, :frames]
        return features * lengths_to_mask(lengths, frames).unsqueeze(-1)

    def _overlap_add(self, windows: torch.Tensor, tokens: int) -> torch.Tensor:
        return overlap_add(windows, self.window, tokens, self.config.feature_dim)

    def loss(self, features: torch.Tensor, lengths: torch.Tensor,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """MSE on the valid frames (+ `velocity_weight` × MSE of frame differences) plus KL to N(0, I)
        weighted by `kl_weight`."""
        latent, mu, logvar = self.encode(features, lengths, generator)
        recon = self.decode(latent, lengths)
        features = features[:, : recon.shape[1]]
        mask = lengths_to_mask(lengths, features.shape[1]).unsqueeze(-1).to(features.dtype)
        mse = ((recon - features) ** 2 * mask).sum() / (mask.sum() * features.shape[-1])
        pair = mask[:, 1:] * mask[:, :-1]
        difference = (recon[:, 1:] - recon[:, :-1]) - (features[:, 1:] - features[:, :-1])
        velocity = (difference**2 * pair).sum() / (pair.sum().clamp(min=1) * features.shape[-1])
        triple = pair[:, 1:] * pair[:, :-1]
        second = difference[:, 1:] - difference[:, :-1]
        acceleration = (second**2 * triple).sum() / (triple.sum().clamp(min=1) * features.shape[-1])
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()
        loss = (mse + self.config.velocity_weight * velocity + self.config.acceleration_weight * acceleration
                + self.config.kl_weight * kl)
        return {"loss": loss, "mse": mse, "velocity": velocity, "acceleration": acceleration, "kl": kl}

