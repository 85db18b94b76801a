"""A trained model is a folder:

    config.json        this file's `BundleConfig`: text encoder, skeleton, latent scale, identity
    mean.npy std.npy   the feature normaliser of the training data
    vae/ denoiser/ projector/   one folder per component (config.json + model.safetensors)
    LICENSE            the weights' terms (inherited from the training data)
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lead.errors import LeadError
from lead.io import save_json
from lead.models.config import config_from_dict, read_kind_json

BUNDLE_KIND = "lead-model"


@dataclass
class BundleConfig:
    text_encoder: str = "minilm"
    text_encoder_path: str | None = None
    text_encoder_identity: str = ""
    skeleton: str = "humanml3d"
    fps: int = 20
    min_frames: int = 40
    max_frames: int = 196
    latent_scale: float = 1.0
    # Binomial low-pass (taps; 0/1 = off) applied to generated features after decoding: the small
    # denoiser's latents carry noise that the decoder turns into frame jitter (docs/vae_sweep.md).
    smoothing: int = 0
    # Strength in [0, 1] of the foot-contact cleanup of generated motion (lead.motion.contacts): the
    # root's path is corrected so that feet the model puts in contact stay planted; 0 = off.
    foot_cleanup: float = 0.0
    # Classifier-free guidance scale when the caller gives none (MLD's 7.5 unless a model was tuned; the
    # lcm sampler keeps lead.defaults.GUIDANCE, inside the w range its student was distilled on).
    guidance: float = 7.5
    dataset: str = ""
    license: str = ""
    notes: dict[str, Any] = field(default_factory=dict)


def default_model_path() -> Path:
    """The small default model shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "assets" / "default"


def read_bundle_config(folder: str | Path) -> BundleConfig:
    folder = Path(folder)
    if not folder.is_dir():
        raise LeadError(f"model folder {folder} does not exist; give the folder of a trained lead model (--model DIR)")
    data = read_kind_json(
        folder / "config.json", BUNDLE_KIND, f"{folder} is not a lead model folder (train one with `lead train`)"
    )
    known = {f.name for f in dataclasses.fields(BundleConfig)}
    source = str(folder / "config.json")
    config = config_from_dict(BundleConfig, {k: v for k, v in data.items() if k in known}, source)
    if config.fps <= 0 or not 1 <= config.min_frames <= config.max_frames:
        raise LeadError(f"{source}: expected fps > 0 and 1 <= min_frames <= max_frames, got fps {config.fps}, "
                        f"frames {config.min_frames}..{config.max_frames}; fix or re-export the model")
    if not 0 <= config.foot_cleanup <= 1:
        raise LeadError(f"{source}: foot_cleanup must be from 0 (off) to 1, got {config.foot_cleanup}; "
                        "fix or re-export the model")
    if not math.isfinite(config.latent_scale) or config.latent_scale <= 0:
        raise LeadError(f"{source}: latent_scale must be a finite number > 0, got {config.latent_scale}; "
                        "fix or re-export the model")
    from lead.models.text import BACKENDS

    if config.text_encoder not in BACKENDS:
        raise LeadError(f"{source}: text_encoder must be one of {', '.join(BACKENDS)}, got {config.text_encoder!r}; "
                        "fix or re-export the model")
    if not math.isfinite(config.guidance) or config.guidance < 0:
        raise LeadError(f"{source}: guidance must be a finite number >= 0, got {config.guidance}; "
                        "fix or re-export the model")
    return config


def write_bundle_config(folder: str | Path, config: BundleConfig) -> None:
    save_json(Path(folder) / "config.json", {"kind": BUNDLE_KIND, "config": dataclasses.asdict(config)})


def model_identity(folder: str | Path) -> dict[str, str]:
    """A short fingerprint of the weights (sha256 of each component), for manifests."""
    folder = Path(folder)
    digest = hashlib.sha256()
    parts = []
    for name in ("vae", "denoiser", "projector"):
        weights = folder / name / "model.safetensors"
        if weights.is_file():
            digest.update(weights.read_bytes())
            parts.append(name)
    return {"path": str(folder.resolve()), "sha256": digest.hexdigest()[:16], "components": "+".join(parts)}
