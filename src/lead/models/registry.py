"""The model components a model folder may hold, listed once: name → class. A model folder is
`config.json` + `mean.npy`/`std.npy` + one sub-folder per component (each `config.json` + `model.safetensors`)."""

from __future__ import annotations

from pathlib import Path

from lead.errors import LeadError
from lead.models.denoiser import LatentDenoiser
from lead.models.projector import LatentProjector
from lead.models.vae import MotionVAE

# lcm: a consistency-distilled denoiser (`lead train lcm`) with a guidance-scale input.
COMPONENTS = {"vae": MotionVAE, "denoiser": LatentDenoiser, "projector": LatentProjector, "lcm": LatentDenoiser}
REQUIRED = ("vae",)  # and a denoiser/ or an lcm/ (a MotionLCM import has only the latter)


def load_component(model: str | Path, name: str, required: bool | None = None):
    """`model/name` loaded by its registered class; None when absent and not required."""
    if name not in COMPONENTS:
        raise LeadError(f"unknown component {name!r}: known are {', '.join(COMPONENTS)}")
    folder = Path(model) / name
    if not folder.is_dir():
        if required if required is not None else name in REQUIRED:
            raise LeadError(f"{model} has no {name}/ component; train it with `lead train {name}`")
        return None
    return COMPONENTS[name].load(folder)
