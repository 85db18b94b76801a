"""Guidance as a wrapper of the denoise function: `guide(denoiser, condition, empty)` gives
`denoise(z_t, t) -> ε` for the sampler. The sampler never sees text or guidance scales."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def classifier_free_guidance(conditional: torch.Tensor, unconditional: torch.Tensor, scale: float) -> torch.Tensor:
    """ε = s·ε(z,t,c) + (1−s)·ε(z,t,∅)."""
    return scale * conditional + (1.0 - scale) * unconditional


@dataclass(frozen=True)
class ClassifierFreeGuidance:
    """CFG (Ho & Salimans): the conditional and empty-text branches in one batch; scale 1 skips the
    empty branch (plain conditional sampling)."""

    scale: float = 7.5

    def __call__(self, denoiser, condition: torch.Tensor, empty: torch.Tensor) -> Denoise:
        if self.scale == 1.0:
            return lambda latent, t: denoiser(latent, t, condition)
        both = torch.cat([condition, empty])

        def denoise(latent: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            conditional, unconditional = denoiser(torch.cat([latent, latent]), t, both).chunk(2)
            return classifier_free_guidance(conditional, unconditional, self.scale)

        return denoise


@dataclass(frozen=True)
class GuidanceEmbedding:
    """Guidance as an input (LCM / MotionLCM): the student denoiser was distilled from the teacher's CFG
    and takes the weight w = scale − 1 (LCM's convention, cond + w·(cond − uncond)) as an embedding, so
    one pass of the conditional branch gives the guided prediction."""

    scale: float = 7.5

    def __call__(self, denoiser, condition: torch.Tensor, empty: torch.Tensor) -> Denoise:
        w = torch.full((condition.shape[0],), self.scale - 1.0, device=condition.device)
        return lambda latent, t: denoiser(latent, t, condition, guidance=w)
