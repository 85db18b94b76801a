"""MLD's schedules (1000 training steps, scaled-linear betas 0.00085–0.012) and a DDIM sampler
that takes a denoise function, k-diffusion style."""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DDIMScheduler, DDPMScheduler

SCHEDULE = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
    clip_sample=False, prediction_type="epsilon",
)


def make_training_scheduler() -> DDPMScheduler:
    return DDPMScheduler(variance_type="fixed_small", **SCHEDULE)


def make_sampling_scheduler() -> DDIMScheduler:
    return DDIMScheduler(set_alpha_to_one=False, steps_offset=1, **SCHEDULE)


def classifier_free_guidance(conditional: torch.Tensor, unconditional: torch.Tensor, scale: float) -> torch.Tensor:
    """ε = s·ε(z,t,c) + (1−s)·ε(z,t,∅)."""
    return scale * conditional + (1.0 - scale) * unconditional


def ddim_sample(
    denoise: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    noise: torch.Tensor,
    condition: torch.Tensor,
    empty: torch.Tensor,
    num_inference_steps: int = 50,
    guidance_scale: float = 7.5,
    scheduler: DDIMScheduler | None = None,
    progress: Callable | None = None,
) -> torch.Tensor:
    """Run DDIM (eta 0) from `noise` `[B, S, D]` to a clean latent.

    `denoise(latent, timestep, condition)` predicts the noise; condition `[B, C]`, empty `[B, C]`
    (the empty-text embedding). With guidance_scale 1 the unconditional branch is skipped.
    """
    scheduler = scheduler or make_sampling_scheduler()
    scheduler.set_timesteps(num_inference_steps)
    latent = noise * scheduler.init_noise_sigma
    guided = guidance_scale != 1.0
    both = torch.cat([condition, empty]) if guided else condition
    steps = scheduler.timesteps
    for t in progress(steps) if progress else steps:
        model_input = torch.cat([latent, latent]) if guided else latent
        timestep = t.reshape(1).to(latent.device)
        eps = denoise(model_input, timestep, both)
        if guided:
            conditional, unconditional = eps.chunk(2)
            eps = classifier_free_guidance(conditional, unconditional, guidance_scale)
        latent = scheduler.step(eps, t, latent, eta=0.0).prev_sample
    return latent
