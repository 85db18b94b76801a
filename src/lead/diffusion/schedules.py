"""MLD's noise schedule (1000 training steps, scaled-linear betas 0.00085–0.012, ε-prediction) and a
registry of diffusers samplers built on it, chosen by name.

The schedule is the model's (the denoiser was trained on it); the sampler is a choice at inference.
Every entry gives integer timesteps, so `noise.alpha_bar(t)` is exact for any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lead import defaults
from lead.errors import LeadError

if TYPE_CHECKING:  # diffusers costs ~1 s to import (torch._dynamo, scipy.stats): each factory imports its own
    from diffusers import DDIMScheduler, DDPMScheduler

BETAS = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
PREDICTION = "epsilon"
SCHEDULE = dict(**BETAS, clip_sample=False, prediction_type=PREDICTION)


def make_training_scheduler() -> DDPMScheduler:
    from diffusers import DDPMScheduler

    return DDPMScheduler(variance_type="fixed_small", **SCHEDULE)


@dataclass(frozen=True)
class Sampler:
    """A named diffusers scheduler on the model's schedule."""

    name: str
    description: str
    factory: Callable[[str], object]
    max_steps: int  # the most inference steps its timestep spacing allows
    step_kwargs: dict
    stochastic: bool = False  # its step draws noise: the loop passes one generator per sample
    component: str = "denoiser"  # the model component it samples with

    def build(self, prediction_type: str = PREDICTION):
        """A fresh scheduler (schedulers hold per-run state) for a denoiser of `prediction_type`."""
        return self.factory(prediction_type)


def _ddim(prediction_type: str):
    # MLD's sampler: "leading" spacing with steps_offset 1, so 1000 steps would start past t = 999.
    from diffusers import DDIMScheduler

    return DDIMScheduler(set_alpha_to_one=False, steps_offset=1, **{**SCHEDULE, "prediction_type": prediction_type})


def _dpmpp(prediction_type: str):
    from diffusers import DPMSolverMultistepScheduler

    return DPMSolverMultistepScheduler(**BETAS, prediction_type=prediction_type, algorithm_type="dpmsolver++",
                                       solver_order=2, timestep_spacing="trailing")


def _unipc(prediction_type: str):
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(**BETAS, prediction_type=prediction_type, solver_order=2,
                                   timestep_spacing="trailing")


LCM_ORIGINAL_STEPS = 50  # the DDIM grid the consistency student was distilled on (skip 1000/50 = 20)


def _lcm(prediction_type: str):
    from diffusers import LCMScheduler

    return LCMScheduler(**BETAS, prediction_type=prediction_type, clip_sample=False, set_alpha_to_one=False,
                        original_inference_steps=LCM_ORIGINAL_STEPS, timestep_scaling=10.0)


def _euler(prediction_type: str):
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(**BETAS, prediction_type=prediction_type, timestep_spacing="trailing")


SAMPLERS: dict[str, Sampler] = {
    s.name: s for s in (
        Sampler("ddim", "DDIM, eta 0 (MLD's sampler; 50 steps in the paper)", _ddim, 999, {"eta": 0.0}),
        Sampler("dpm++", "DPM-Solver++ (2M), multistep, trailing timesteps", _dpmpp, 1000, {}),
        Sampler("unipc", "UniPC (bh2, order 2), multistep, trailing timesteps", _unipc, 1000, {}),
        Sampler("euler", "Euler (Karras et al. ODE form), trailing timesteps", _euler, 1000, {}),
        Sampler("lcm", "latent consistency (MotionLCM): 1-4 steps with the model's lcm/ component", _lcm,
                LCM_ORIGINAL_STEPS, {}, stochastic=True, component="lcm"),
    )
}
DEFAULT_SAMPLER = defaults.SAMPLER
assert tuple(SAMPLERS) == defaults.SAMPLERS, "keep lead.defaults.SAMPLERS in step with the registry"


def get_sampler(name: str) -> Sampler:
    try:
        return SAMPLERS[name]
    except KeyError:
        raise LeadError(f"unknown sampler {name!r}: choose one of {', '.join(SAMPLERS)}") from None


def make_scheduler(name: str = DEFAULT_SAMPLER, prediction_type: str = PREDICTION):
    """A fresh diffusers scheduler for sampler `name` (schedulers hold per-run state)."""
    return get_sampler(name).build(prediction_type)


def make_sampling_scheduler() -> DDIMScheduler:
    """MLD's DDIM scheduler."""
    return _ddim(PREDICTION)


def check_steps(name: str, steps: int, parameter: str = "num_inference_steps") -> None:
    sampler = get_sampler(name)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= sampler.max_steps:
        raise LeadError(f"{parameter} must be an integer in 1..{sampler.max_steps} for the {name} sampler, "
                        f"got {steps!r}")
