"""Generation defaults shared by the library and the command line; imports nothing heavy, so the CLI can
build its --help without loading torch."""

from __future__ import annotations

from lead.errors import LeadError

SAMPLERS = ("ddim", "dpm++", "unipc", "euler", "lcm")  # the registry in lead.diffusion.schedules, by name
SAMPLER = "ddim"
STEPS = 50
GUIDANCE = 7.5
SECONDS = 5.0
FPS = 20
BATCH_SIZE = 32
DEVICES = ("auto", "cpu", "cuda")
DEVICE = "cpu"


def check_foot_cleanup(strength: float, name: str = "foot_cleanup") -> float:
    """The foot-cleanup strength (`lead.motion.contacts`), checked: a finite number in [0, 1]."""
    import math

    if not isinstance(strength, int | float) or not math.isfinite(strength) or not 0 <= strength <= 1:
        raise LeadError(f"{name} must be a number from 0 (off) to 1 (feet fully pinned), got {strength}")
    return float(strength)


def check_device(name: str) -> str:
    """The device name, checked: 'cpu' (and a malformed name) without importing torch, so the command line
    refuses bad input before torch loads; 'auto' and 'cuda[:N]' ask torch whether CUDA is there. → 'cpu', 'cuda:0'."""
    if name == "cpu":
        return name
    if name not in ("auto", "cuda") and not (name.startswith("cuda:") and name[5:].isdigit()):
        raise LeadError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}")
    return str(resolve_device(name))


def resolve_device(name: str):
    """'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N' → torch.device, with a clear
    error when CUDA is asked for and absent."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise LeadError(f"--device {name}: no CUDA GPU is available to this torch build; use --device cpu")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise LeadError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}")
