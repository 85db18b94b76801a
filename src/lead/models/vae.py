"""MLD's motion VAE: a skip-transformer encoder over two distribution tokens plus the motion,
and a skip-transformer decoder from the latent to zero motion queries (stage 1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from lead.models.config import choose_preset, load_weights, read_component_config, save_component
from lead.models.layers import (
    LearnedPositionalEncoding,
    SkipTransformerDecoder,
    SkipTransformerEncoder,
    decoder_layer,
    encoder_layer,
    lengths_to_mask,
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

    @classmethod
    def preset(cls, name: str, **overrides) -> VAEConfig:
        presets = {
            "mld": cls(),
            # What trains on a 2-core CPU within an hour: the VAE dominates the cost (every frame is a
            # token), so it gets 3 layers of 128-d.
            "small": cls(latent_dim=128, num_layers=3, num_heads=4, ff_size=256),
            "tiny": cls(latent_dim=32, num_layers=3, num_heads=2, ff_size=64),
        }
        return choose_preset(presets, name, overrides)


class MotionVAE(nn.Module):
    """encode: features `[B, T, F]` + lengths `[B]` → latent `[B, latent_size, D]`;
    decode: latent + lengths → features `[B, T, F]` (zero past each length)."""

    kind = "vae"

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        d = config.latent_dim
        self.skel_embedding = nn.Linear(config.feature_dim, d)
        self.global_motion_token = nn.Parameter(torch.randn(config.latent_size * 2, d))
        self.query_pos_encoder = LearnedPositionalEncoding(d, config.max_length + 2 * config.latent_size)
        self.query_pos_decoder = LearnedPositionalEncoding(d, config.max_length)
        layer = encoder_layer(d, config.num_heads, config.ff_size, config.dropout)
        self.encoder = SkipTransformerEncoder(layer, config.num_layers, d)
        layer = decoder_layer(d, config.num_heads, config.ff_size, config.dropout)
        self.decoder = SkipTransformerDecoder(layer, config.num_layers, d)
        self.final_layer = nn.Linear(d, config.feature_dim)

    def encode_distribution(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (mu, logvar), each `[B, latent_size, D]`."""
        batch, frames, _ = features.shape
        mask = lengths_to_mask(lengths, frames)
        x = self.skel_embedding(features)  # [B, T, D]
        tokens = self.global_motion_token.unsqueeze(0).expand(batch, -1, -1)  # [B, 2S, D]
        sequence = self.query_pos_encoder(torch.cat([tokens, x], dim=1))
        token_mask = torch.ones(batch, tokens.shape[1], dtype=torch.bool, device=features.device)
        padding = ~torch.cat([token_mask, mask], dim=1)
        out = self.encoder(sequence, key_padding_mask=padding)[:, : tokens.shape[1]]
        size = self.config.latent_size
        return out[:, :size], out[:, size:]

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
        batch = latent.shape[0]
        frames = int(lengths.max())
        mask = lengths_to_mask(lengths, frames)
        queries = torch.zeros(batch, frames, self.config.latent_dim, device=latent.device, dtype=latent.dtype)
        queries = self.query_pos_decoder(queries)
        out = self.decoder(queries, latent, tgt_key_padding_mask=~mask)
        features = self.final_layer(out)
        return features * mask.unsqueeze(-1)

    def loss(self, features: torch.Tensor, lengths: torch.Tensor,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """MSE on the valid frames plus KL to N(0, I) weighted by `kl_weight`."""
        latent, mu, logvar = self.encode(features, lengths, generator)
        recon = self.decode(latent, lengths)
        mask = lengths_to_mask(lengths, features.shape[1]).unsqueeze(-1).to(features.dtype)
        mse = ((recon - features) ** 2 * mask).sum() / (mask.sum() * features.shape[-1])
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()
        return {"loss": mse + self.config.kl_weight * kl, "mse": mse, "kl": kl}

    def save(self, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
        return save_component(folder, self, self.config, self.kind, dtype)

    @classmethod
    def load(cls, folder: str | Path) -> MotionVAE:
        return load_weights(folder, cls(read_component_config(folder, VAEConfig, cls.kind)))
