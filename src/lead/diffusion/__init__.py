"""Schedules, samplers and guidance around diffusers' schedulers; no network lives here.

Names are loaded on first use (PEP 562), so `lead.diffusion.schedules` (the sampler registry, `check_steps`) can
be read by the command line without importing torch or diffusers."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_WHERE = {
    "ClassifierFreeGuidance": "guidance", "Denoise": "guidance", "GuidanceEmbedding": "guidance",
    "classifier_free_guidance": "guidance",
    "add_noise": "noise", "alpha_bar": "noise", "predict_epsilon": "noise", "predict_x0": "noise",
    "training_target": "noise",
    "Callback": "sampling", "StepState": "sampling", "sample": "sampling",
    "DEFAULT_SAMPLER": "schedules", "SAMPLERS": "schedules", "SCHEDULE": "schedules", "Sampler": "schedules",
    "check_steps": "schedules", "get_sampler": "schedules", "make_sampling_scheduler": "schedules",
    "make_scheduler": "schedules", "make_training_scheduler": "schedules",
}

__all__ = [
    "DEFAULT_SAMPLER", "SAMPLERS", "SCHEDULE", "Callback", "ClassifierFreeGuidance", "Denoise", "GuidanceEmbedding",
    "Sampler", "StepState", "add_noise", "alpha_bar", "check_steps", "classifier_free_guidance", "get_sampler",
    "make_sampling_scheduler", "make_scheduler", "make_training_scheduler", "predict_epsilon", "predict_x0", "sample",
    "training_target",
]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if TYPE_CHECKING:
    from lead.diffusion.guidance import ClassifierFreeGuidance, Denoise, GuidanceEmbedding, classifier_free_guidance
    from lead.diffusion.noise import add_noise, alpha_bar, predict_epsilon, predict_x0, training_target
    from lead.diffusion.sampling import Callback, StepState, sample
    from lead.diffusion.schedules import (
        DEFAULT_SAMPLER,
        SAMPLERS,
        SCHEDULE,
        Sampler,
        check_steps,
        get_sampler,
        make_sampling_scheduler,
        make_scheduler,
        make_training_scheduler,
    )
