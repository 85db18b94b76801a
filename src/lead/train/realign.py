"""The inputs a *denoising* realigner trains on: the model's own estimates of training latents.

LEAD's projector is trained on clean VAE latents, but at inference it reads the sampler's output, which
is off the data in ways a clean latent never is. A denoising realigner instead reads what the frozen
denoiser makes of a training latent z: z is noised to a level t_s on MLD's DDIM grid and sampled back to
t = 0 with the model's own sampler (DDIM, classifier-free guidance), as generation would from that point
(SDEdit); the realigner learns to reconstruct z from that estimate. t_s = 1 is the one-step estimate
x̂₀(z_t, t, c); larger t_s give longer stretches of the sampler's own trajectory and its errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lead.diffusion import ClassifierFreeGuidance, add_noise, alpha_bar, predict_epsilon, predict_x0

GRID_STEP = 20  # MLD's DDIM-50 grid: t = 1, 21, ..., 981 ("leading" spacing, steps_offset 1)


@dataclass(frozen=True)
class DenoisingInputs:
    """max_t: the highest start level (rounded down to the grid); guidance: the CFG scale of the sampler;
    fraction: the share of a batch's rows given the model's estimate (the rest read the clean latent)."""

    max_t: int = 301
    guidance: float = 4.0
    fraction: float = 0.75

    def __post_init__(self) -> None:
        if not 1 <= self.max_t <= 981:
            raise ValueError(f"max_t must be in 1..981, got {self.max_t}")
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        if not self.guidance >= 0:
            raise ValueError(f"guidance must be >= 0, got {self.guidance}")

    @property
    def levels(self) -> int:
        return (self.max_t - 1) // GRID_STEP + 1

    @torch.no_grad()
    def estimate(self, denoiser, latent: torch.Tensor, condition: torch.Tensor, empty: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor:
        """The sampler's estimate of each row of `latent` `[B, S, D]` (z space), conditioned on `condition`
        `[B, text_dim]`; rows not drawn (1 − fraction) are returned unchanged."""
        rows = latent.shape[0]
        device = latent.device
        chosen = torch.rand(rows, generator=generator, device=device) < self.fraction
        starts = 1 + GRID_STEP * torch.randint(0, self.levels, (rows,), generator=generator, device=device)
        noise = torch.randn(latent.shape, generator=generator, device=device)
        current = add_noise(latent, noise, starts)
        prediction = denoiser.config.prediction_type
        guided = ClassifierFreeGuidance(self.guidance)
        for t in range(int(starts[chosen].max()) if chosen.any() else 0, 0, -GRID_STEP):
            active = chosen & (starts >= t)
            if not active.any():
                continue
            z = current[active]
            timestep = torch.full((1,), t, device=device)
            output = guided(denoiser, condition[active], empty.expand(int(active.sum()), -1))(z, timestep)
            x0 = predict_x0(z, output, timestep, prediction)
            eps = predict_epsilon(z, output, timestep, prediction)
            # DDIM (eta 0) to the grid's previous level; below t = 1 MLD's DDIM uses ᾱ at t = 0.
            previous = torch.full((1,), max(t - GRID_STEP, 0), device=device)
            a = alpha_bar(previous, z)
            current[active] = a.sqrt() * x0 + (1 - a).sqrt() * eps
        return torch.where(chosen.view(-1, 1, 1), current, latent)
