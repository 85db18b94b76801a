"""Noise schedules and samplers around diffusers' schedulers; no network lives here."""

from lead.diffusion.sampling import (
    classifier_free_guidance,
    ddim_sample,
    make_sampling_scheduler,
    make_training_scheduler,
)

__all__ = ["classifier_free_guidance", "ddim_sample", "make_sampling_scheduler", "make_training_scheduler"]
