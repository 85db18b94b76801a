"""The forward process of the model's schedule and its inverse for ε-prediction, shared by training,
inversion, the sampler's per-step callback and distillation: z_t = √ᾱ_t·z₀ + √(1−ᾱ_t)·ε."""

from __future__ import annotations

import functools

import torch

from lead.diffusion.schedules import make_training_scheduler


@functools.lru_cache(maxsize=1)
def _alphas_cumprod() -> torch.Tensor:
    return make_training_scheduler().alphas_cumprod.to(torch.float32)


def alpha_bar(timesteps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """ᾱ_t for integer timesteps `[B]` or `[1]`, shaped to broadcast against `like` `[B, ...]`."""
    table = _alphas_cumprod().to(like.device)
    a = table[timesteps.to(like.device).round().long().reshape(-1)]
    return a.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def add_noise(clean: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
    """z_t from z₀ `[B, ...]`, ε and t `[B]`."""
    a = alpha_bar(timesteps, clean)
    return a.sqrt() * clean + (1 - a).sqrt() * noise


def predict_x0(noisy: torch.Tensor, output: torch.Tensor, timesteps: torch.Tensor,
               prediction_type: str = "epsilon") -> torch.Tensor:
    """ẑ₀ from the network's output at z_t (variance-preserving form): for ε, (z_t − √(1−ᾱ_t)·ε)/√ᾱ_t
    (LEAD Eq. 10); for v, √ᾱ_t·z_t − √(1−ᾱ_t)·v; for "sample", the output itself."""
    if prediction_type == "sample":
        return output
    a = alpha_bar(timesteps, noisy)
    if prediction_type == "v_prediction":
        return a.sqrt() * noisy - (1 - a).sqrt() * output
    if prediction_type != "epsilon":
        raise ValueError(f"unknown prediction_type {prediction_type!r}")
    return (noisy - (1 - a).sqrt() * output) / a.sqrt()


def predict_epsilon(noisy: torch.Tensor, output: torch.Tensor, timesteps: torch.Tensor,
                    prediction_type: str = "epsilon") -> torch.Tensor:
    """ε̂ from the network's output at z_t, whatever it predicts."""
    if prediction_type == "epsilon":
        return output
    a = alpha_bar(timesteps, noisy)
    if prediction_type == "v_prediction":
        return a.sqrt() * output + (1 - a).sqrt() * noisy
    return (noisy - a.sqrt() * output) / (1 - a).sqrt()


def training_target(clean: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor,
                    prediction_type: str = "epsilon") -> torch.Tensor:
    """What a network of `prediction_type` is trained to output at z_t = add_noise(clean, noise, t)."""
    if prediction_type == "epsilon":
        return noise
    if prediction_type == "sample":
        return clean
    a = alpha_bar(timesteps, clean)
    return a.sqrt() * noise - (1 - a).sqrt() * clean
