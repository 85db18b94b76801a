"""One sampling loop for every diffusers scheduler (k-diffusion style: it takes a denoise function).

Each step: scale the input as the scheduler asks, run the denoiser (ε, v or z0), step, and hand the callback the new
latent and the predicted clean latent ẑ₀. A callback that returns a tensor replaces the latent
(editing, inpainting); one that returns None only watches (progress, live preview).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lead.diffusion.guidance import Denoise
from lead.diffusion.noise import predict_x0


@dataclass
class StepState:
    index: int  # 0-based step number
    timestep: int
    steps: int  # total steps of this run
    latent: torch.Tensor  # z after this step `[B, S, D]` (scheduler's parameterisation)
    x0: torch.Tensor  # predicted clean latent ẑ₀ at this step `[B, S, D]`


Callback = Callable[[StepState], "torch.Tensor | None"]


def sample(
    denoise: Denoise,
    noise: torch.Tensor,
    scheduler,
    num_inference_steps: int,
    step_kwargs: dict | None = None,
    callback: Callback | None = None,
    progress: Callable | None = None,
    prediction_type: str = "epsilon",
    generator=None,
) -> torch.Tensor:
    """From `noise` `[B, S, D]` (unit Gaussian) to a clean latent with `scheduler` (built for the
    denoiser's `prediction_type`). `generator` (one, or a list with one per row) feeds a stochastic
    scheduler's step (LCM's re-noising between steps)."""
    step_kwargs = dict(step_kwargs or {})
    if generator is not None:
        step_kwargs["generator"] = generator
    scheduler.set_timesteps(num_inference_steps, device=noise.device)
    latent = noise * scheduler.init_noise_sigma
    timesteps = scheduler.timesteps
    for index, t in enumerate(progress(timesteps) if progress else timesteps):
        model_input = scheduler.scale_model_input(latent, t)
        timestep = t.reshape(1).to(latent.device)
        output = denoise(model_input, timestep)
        latent = scheduler.step(output, t, latent, **step_kwargs).prev_sample
        if callback is not None:
            # model_input is in the variance-preserving form for every scheduler (Euler divides by
            # √(σ²+1)), so one formula gives ẑ₀.
            x0 = predict_x0(model_input, output, timestep, prediction_type)
            state = StepState(index, int(t), len(timesteps), latent, x0)
            replaced = callback(state)
            if replaced is not None:
                latent = replaced
    return latent
