"""Which latent space a tensor is in.

Two spaces: the VAE's own (what `MotionVAE.encode` gives and `decode` takes) and **z**, the scaled
space (VAE latent × `scale`, unit variance over the training data) that the denoiser samples in and
the projector maps. `LatentSpace` is the one place that converts between them; every other module
takes and returns z.
"""

from __future__ import annotations

import torch

from lead.models.vae import MotionVAE


class LatentSpace:
    def __init__(self, vae: MotionVAE, scale: float) -> None:
        self.vae = vae
        self.scale = float(scale)

    @property
    def shape(self) -> tuple[int, int]:
        """(S, D) of one latent."""
        return self.vae.config.latent_size, self.vae.config.latent_dim

    def to_z(self, vae_latent: torch.Tensor) -> torch.Tensor:
        return vae_latent * self.scale

    def to_vae(self, z: torch.Tensor) -> torch.Tensor:
        return z / self.scale

    def posterior(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) `[B, S, D]` of normalised features `[B, T, F]`, in the VAE's space."""
        return self.vae.encode_distribution(features, lengths)

    def sample_posterior(self, mu: torch.Tensor, logvar: torch.Tensor,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """A reparameterised posterior sample, as z."""
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return self.to_z(mu + noise * torch.exp(0.5 * logvar))

    def encode(self, features: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator | None = None,
               sample: bool = True) -> torch.Tensor:
        """Normalised features `[B, T, F]` → z `[B, S, D]` (a posterior sample, or its mean)."""
        mu, logvar = self.posterior(features, lengths)
        return self.sample_posterior(mu, logvar, generator) if sample else self.to_z(mu)

    def decode(self, z: torch.Tensor, lengths) -> torch.Tensor:
        """z `[B, S, D]` → normalised features `[B, max(lengths), F]` (zero past each length)."""
        return self.vae.decode(self.to_vae(z), lengths)
