"""Generation defaults shared by the library and the command line; imports nothing heavy, so the CLI can
build its --help without loading torch."""

from __future__ import annotations

SAMPLERS = ("ddim", "dpm++", "unipc", "euler", "lcm")  # the registry in lead.diffusion.schedules, by name
SAMPLER = "ddim"
STEPS = 50
GUIDANCE = 7.5
SECONDS = 5.0
FPS = 20
BATCH_SIZE = 32
DEVICES = ("auto", "cpu", "cuda")
DEVICE = "cpu"


def resolve_device(name: str):
    """'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N' → torch.device, with a clear
    error when CUDA is asked for and absent."""
    import torch

    from lead.errors import LeadError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise LeadError(f"--device {name}: no CUDA GPU is available to this torch build; use --device cpu")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise LeadError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}")
