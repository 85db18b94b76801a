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
# How L_align reads a multi-token latent's projection: "mean" of the projected tokens (the first
# implementation), "token" (every projected token aligned to the caption), "attention" (a learned query
# attends over the projected tokens; the pooled summary is aligned). A one-token latent (MLD's) is the
# same under all three.
ALIGN_MODES = ("mean", "token", "attention")
# L_rec reduction: "mean" over all elements (torch's mse_loss), "sum" over a latent's elements and mean
# over the batch (the paper's squared L2 norm, Eq. 4).
REC_REDUCTIONS = ("mean", "sum")


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
    align_mode: str = "mean"
    rec_reduction: str = "mean"

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
        if config.align_mode not in ALIGN_MODES:
            raise ValueError(f"unknown align_mode {config.align_mode!r}; use one of {ALIGN_MODES}")
        if config.rec_reduction not in REC_REDUCTIONS:
            raise ValueError(f"unknown rec_reduction {config.rec_reduction!r}; use one of {REC_REDUCTIONS}")
        self.config = config
        self.encoder = _Branch(config, config.latent_dim, config.text_dim)
        self.decoder = _Branch(config, config.text_dim, config.latent_dim)
        if config.align_mode == "attention":
            self.pool_query = nn.Parameter(torch.zeros(1, 1, config.text_dim))
            self.pool_key = nn.Linear(config.text_dim, config.text_dim)

    def encode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.encoder(latent)

    def decode(self, projected: torch.Tensor) -> torch.Tensor:
        return self.decoder(projected)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """The realignment used at inference: D_proj(E_proj(z))."""
        return self.decode(self.encode(latent))

    def summary(self, projected: torch.Tensor) -> torch.Tensor:
        """What L_align compares with the caption: `[B, S, text_dim]` → `[B, text_dim]`, or `[B, S, text_dim]`
        for per-token alignment."""
        mode = self.config.align_mode
        if mode == "token":
            return projected
        if mode == "attention":
            scores = (self.pool_key(projected) * self.pool_query).sum(-1) / projected.shape[-1] ** 0.5  # [B, S]
            return (scores.softmax(-1).unsqueeze(-1) * projected).sum(1)
        return projected.mean(1)

    def loss(
        self, latent: torch.Tensor, text_embedding: torch.Tensor,
        use_align: bool = True, use_rec: bool = True, use_var: bool = True,
        source: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Paper Eq. 3–7. latent `[B, S, D]` (z space): the target; text_embedding `[B, text_dim]` (pooled).

        `source` (default: `latent`) is what the projector reads. A denoising realigner reads the denoiser's
        own estimate of `latent` and learns to reconstruct the true one (`lead.train.stages.ProjectorStage`).
        """
        source = latent if source is None else source
        projected = self.encode(source)
        reconstructed = self.decode(projected)
        summary = self.summary(projected)
        target = text_embedding if summary.dim() == 2 else text_embedding.unsqueeze(1).expand_as(summary)
        align = (1 - F.cosine_similarity(summary, target, dim=-1)).mean()
        if self.config.rec_reduction == "sum":
            rec = (reconstructed - latent).pow(2).flatten(1).sum(1).mean()
        else:
            # Mean over elements, so that λ_rec and λ_align keep the balance the paper tuned for a 256-d latent
            # whatever the latent width (with "sum" a 25x128 latent's L_rec outweighs L_align 3,200-fold).
            rec = F.mse_loss(reconstructed, latent)
        var = batch_gaussian_kl(latent, reconstructed)
        c = self.config
        total = (c.lambda_align * align * use_align + c.lambda_rec * rec * use_rec + c.lambda_var * var * use_var)
        return {"loss": total, "align": align, "rec": rec, "var": var}
