"""LEAD's realignment projector (stage 3): E_proj maps a VAE latent into the text encoder's
embedding space, D_proj maps it back. At inference z₀ → D_proj(E_proj(z₀)) → VAE decoder."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lead.models.config import Component, choose_preset
from lead.models.layers import SinusoidalPositionalEncoding, SkipTransformerEncoder, encoder_block, encoder_layer

ARCHITECTURES = ("transformer", "skip", "mlp")


@dataclass(frozen=True)
class ProjectorConfig:
    latent_size: int = 1
    latent_dim: int = 256
    text_dim: int = 768
    architecture: str = "transformer"
    hidden_dim: int = 256
    num_layers: int = 9
    num_heads: int = 4
    ff_size: int = 1024
    dropout: float = 0.1
    # Paper §5.2 weights (Eq. 7).
    lambda_rec: float = 4.7036
    lambda_align: float = 2.1591
    lambda_var: float = 0.0596

    @classmethod
    def preset(cls, name: str, **overrides) -> ProjectorConfig:
        presets = {
            "mld": cls(),
            "small": cls(latent_dim=128, hidden_dim=128, num_layers=3, ff_size=512),
            "tiny": cls(latent_dim=32, hidden_dim=32, num_layers=1, num_heads=2, ff_size=64),
        }
        return choose_preset(presets, name, overrides)


class _Branch(nn.Module):
    """One direction of the projector: `[B, S, in_dim]` → `[B, S, out_dim]`."""

    def __init__(self, config: ProjectorConfig, in_dim: int, out_dim: int) -> None:
        super().__init__()
        h = config.hidden_dim
        self.architecture = config.architecture
        self.input = nn.Linear(in_dim, h)
        if config.architecture == "mlp":
            self.body = nn.Sequential(
                *[m for _ in range(config.num_layers)
                  for m in (nn.Linear(h, config.ff_size), nn.GELU(), nn.Dropout(config.dropout),
                            nn.Linear(config.ff_size, h))]
            )
        else:
            self.position = SinusoidalPositionalEncoding(h, max(config.latent_size, 1) + 1)
            layer = encoder_layer(h, config.num_heads, config.ff_size, config.dropout)
            if config.architecture == "skip":
                self.body = SkipTransformerEncoder(layer, config.num_layers, h)
            else:
                self.body = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.output = nn.Linear(h, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input(x)
        if self.architecture == "mlp":
            return self.output(self.body(h))
        h = self.position(h)
        if self.architecture == "skip":
            return self.output(self.body(h))
        # nn.TransformerEncoder's forward is only this loop here (no norm, no mask); running the layers
        # through encoder_block lets a one-token latent (MLD's) skip the attention softmax.
        for layer in self.body.layers:
            h = encoder_block(layer, h)
        return self.output(h)


def batch_gaussian_kl(target: torch.Tensor, predicted: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """KL(P‖Q) between per-dimension Gaussians fitted over the batch (paper Eq. 6).

    target, predicted `[B, ...]`: P from the ground-truth latents, Q from the reconstructed ones.
    """
    p = target.reshape(target.shape[0], -1)
    q = predicted.reshape(predicted.shape[0], -1)
    mu_p, var_p = p.mean(0), p.var(0, unbiased=False) + eps
    mu_q, var_q = q.mean(0), q.var(0, unbiased=False) + eps
    kl = 0.5 * (torch.log(var_q / var_p) + (var_p + (mu_p - mu_q) ** 2) / var_q - 1.0)
    return kl.mean()


class LatentProjector(Component, nn.Module):
    """encode: VAE latent `[B, S, latent_dim]` → z_proj `[B, S, text_dim]`; decode: back."""

    kind = "projector"
    config_class = ProjectorConfig

    def __init__(self, config: ProjectorConfig) -> None:
        super().__init__()
        if config.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown projector architecture {config.architecture!r}; use one of {ARCHITECTURES}")
        self.config = config
        self.encoder = _Branch(config, config.latent_dim, config.text_dim)
        self.decoder = _Branch(config, config.text_dim, config.latent_dim)

    def encode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.encoder(latent)

    def decode(self, projected: torch.Tensor) -> torch.Tensor:
        return self.decoder(projected)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """The realignment used at inference: D_proj(E_proj(z))."""
        return self.decode(self.encode(latent))

    def loss(
        self, latent: torch.Tensor, text_embedding: torch.Tensor,
        use_align: bool = True, use_rec: bool = True, use_var: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Paper Eq. 3–7. latent `[B, S, D]` (VAE space), text_embedding `[B, text_dim]` (pooled)."""
        projected = self.encode(latent)
        reconstructed = self.decode(projected)
        align = (1 - F.cosine_similarity(projected.mean(1), text_embedding, dim=-1)).mean()
        # Mean over elements (torch's mse_loss) rather than a sum, so that λ_rec and λ_align keep
        # the balance the paper tuned whatever the latent width.
        rec = F.mse_loss(reconstructed, latent)
        var = batch_gaussian_kl(latent, reconstructed)
        c = self.config
        total = (c.lambda_align * align * use_align + c.lambda_rec * rec * use_rec + c.lambda_var * var * use_var)
        return {"loss": total, "align": align, "rec": rec, "var": var}

