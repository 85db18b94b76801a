"""Schedules, samplers and guidance around diffusers' schedulers; no network lives here."""

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

__all__ = [
    "DEFAULT_SAMPLER", "SAMPLERS", "SCHEDULE", "Callback", "ClassifierFreeGuidance", "Denoise", "GuidanceEmbedding",
    "Sampler",
    "StepState", "add_noise", "alpha_bar", "check_steps", "classifier_free_guidance", "get_sampler",
    "make_sampling_scheduler", "make_scheduler", "make_training_scheduler", "predict_epsilon", "predict_x0", "sample",
    "training_target",
]
