"""Text → motion: encode text, DDIM + classifier-free guidance in the VAE latent space, LEAD's
realignment (projector encode → decode) unless switched off (the MLD baseline), VAE decode,
de-normalise, recover joints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lead.diffusion import ddim_sample, make_sampling_scheduler
from lead.errors import LeadError
from lead.models.bundle import BundleConfig, default_model_path, model_identity, read_bundle_config
from lead.models.denoiser import LatentDenoiser
from lead.models.projector import LatentProjector
from lead.models.text import TextEncoder, build_text_encoder
from lead.models.vae import MotionVAE

# DDIM with MLD's steps_offset 1 over 1000 training steps: 1000 inference steps would start at t = 1000,
# past the schedule's last index.
MAX_STEPS = 999


@dataclass
class MotionOutput:
    """One entry per generated sample, in order: prompt 0's samples first."""

    texts: list[str]
    lengths: list[int]
    seeds: list[int]
    features: list[np.ndarray]  # each (T, F), de-normalised HumanML3D features
    joints: list[np.ndarray]  # each (T, J, 3), metres, Y up
    settings: dict = field(default_factory=dict)


class TextToMotionPipeline:
    def __init__(
        self,
        text_encoder: TextEncoder,
        vae: MotionVAE,
        denoiser: LatentDenoiser,
        normalizer,
        config: BundleConfig,
        projector: LatentProjector | None = None,
        identity: dict | None = None,
    ) -> None:
        self.text_encoder = text_encoder
        self.vae = vae.eval().requires_grad_(False)
        self.denoiser = denoiser.eval().requires_grad_(False)
        self.projector = projector.eval().requires_grad_(False) if projector is not None else None
        self.normalizer = normalizer
        self.config = config
        self.identity = identity or {}
        self.concepts: dict[str, torch.Tensor] = {}

    @classmethod
    def from_pretrained(
        cls, folder: str | Path | None = None, text_encoder: TextEncoder | None = None
    ) -> TextToMotionPipeline:
        from lead.motion.features import Normalizer

        folder = Path(folder) if folder is not None else default_model_path()
        config = read_bundle_config(folder)
        for part in ("vae", "denoiser"):
            if not (folder / part).is_dir():
                raise LeadError(f"{folder} has no {part}/ component; train it with `lead train {part}`")
        vae = MotionVAE.load(folder / "vae")
        denoiser = LatentDenoiser.load(folder / "denoiser")
        projector = LatentProjector.load(folder / "projector") if (folder / "projector").is_dir() else None
        if text_encoder is None:
            text_encoder = build_text_encoder(config.text_encoder, config.text_encoder_path)
        if text_encoder.dim != denoiser.config.text_dim:
            raise LeadError(
                f"{folder}: the denoiser expects {denoiser.config.text_dim}-d text embeddings but the "
                f"{config.text_encoder} encoder gives {text_encoder.dim}-d"
            )
        normalizer = Normalizer.load(folder)
        return cls(text_encoder, vae, denoiser, normalizer, config, projector, model_identity(folder))

    # --- concepts (motion textual inversion) -------------------------------------------
    def load_concept(self, path: str | Path) -> str:
        from lead.inversion import load_concept

        concept = load_concept(path)
        if concept.text_encoder_identity != self.text_encoder.identity:
            raise LeadError(
                f"concept {path} was learned for text encoder {concept.text_encoder_identity!r}, "
                f"but this model uses {self.text_encoder.identity!r}"
            )
        self.text_encoder.add_placeholder(concept.token)
        self.concepts[concept.token] = concept.embedding
        return concept.token

    # --- validation ----------------------------------------------------------------------
    def check_request(self, texts: list[str], lengths: list[int]) -> None:
        if not texts:
            raise LeadError("no text given: pass a description such as 'a person walks forward'")
        if len(texts) != len(lengths):
            raise LeadError(f"{len(texts)} texts but {len(lengths)} lengths")
        from lead.models.text.base import MAX_TEXT_CHARS

        for text in texts:
            if not text.strip():
                raise LeadError("empty text: describe the motion, e.g. 'a person waves with the right hand'")
            if len(text) > MAX_TEXT_CHARS:
                raise LeadError(f"text is {len(text)} characters long; at most {MAX_TEXT_CHARS} are accepted")
        low, high = 1, min(self.vae.config.max_length, self.config.max_frames)
        for length in lengths:
            if not low <= length <= high:
                raise LeadError(
                    f"length {length} frames is out of range: this model generates {low}..{high} frames "
                    f"({high / self.config.fps:.1f} s at {self.config.fps} fps)"
                )

    # --- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def encode_text(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        with self.text_encoder.placeholders(self.concepts):
            condition = self.text_encoder.encode_pooled(texts)
        return condition, self.text_encoder.empty(len(texts))

    def initial_noise(self, seeds: list[int]) -> torch.Tensor:
        shape = (self.denoiser.config.latent_size, self.denoiser.config.latent_dim)
        return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in seeds])

    @torch.no_grad()
    def sample_latents(
        self, condition: torch.Tensor, empty: torch.Tensor, seeds: list[int],
        num_inference_steps: int = 50, guidance_scale: float = 7.5, progress=None,
    ) -> torch.Tensor:
        """Clean VAE latents `[B, S, D]` (unscaled)."""
        noise = self.initial_noise(seeds)
        latent = ddim_sample(
            self.denoiser, noise, condition, empty, num_inference_steps, guidance_scale,
            make_sampling_scheduler(), progress,
        )
        return latent / self.config.latent_scale

    @torch.no_grad()
    def decode_latents(self, latent: torch.Tensor, lengths: list[int], use_projector: bool = True,
                       smoothing: int | None = None) -> torch.Tensor:
        """VAE latents `[B, S, D]` → normalised features `[B, T, F]`; LEAD realigns first. `smoothing`
        (binomial taps, default the model's `smoothing`) low-passes the decoded frames over time."""
        if use_projector:
            if self.projector is None:
                raise LeadError("this model has no projector/ component; use --no-projector (MLD) or train one")
            # The projector works in the unit-variance (scaled) latent space the denoiser samples in.
            scale = self.config.latent_scale
            latent = self.projector(latent * scale) / scale
        lengths = torch.as_tensor(lengths)
        features = self.vae.decode(latent, lengths)
        taps = self.config.smoothing if smoothing is None else smoothing
        if taps > 1:
            from lead.models.layers import binomial_smooth, lengths_to_mask

            features = binomial_smooth(features, lengths, taps) * lengths_to_mask(lengths, features.shape[1])[..., None]
        return features

    def __call__(
        self,
        texts: list[str] | str,
        lengths: list[int] | int,
        num_samples: int = 1,
        seed: int = 0,
        guidance_scale: float = 7.5,
        num_inference_steps: int = 50,
        use_projector: bool = True,
        batch_size: int = 32,
        progress=None,
        smoothing: int | None = None,
    ) -> MotionOutput:
        from lead.motion.features import features_to_joints

        texts = [texts] if isinstance(texts, str) else list(texts)
        lengths = [lengths] * len(texts) if isinstance(lengths, int) else list(lengths)
        self.check_request(texts, lengths)
        if not 1 <= num_inference_steps <= MAX_STEPS:
            raise LeadError(f"--steps must be in 1..{MAX_STEPS}, got {num_inference_steps}")
        if num_samples < 1:
            raise LeadError(f"--num-samples must be at least 1, got {num_samples}")
        taps = self.config.smoothing if smoothing is None else int(smoothing)
        if taps > 1 and taps % 2 == 0 or taps < 0:
            raise LeadError(f"smoothing must be 0 or an odd number of taps (3, 5, 9, ...), got {taps}")
        all_texts = [t for t in texts for _ in range(num_samples)]
        all_lengths = [n for n in lengths for _ in range(num_samples)]
        seeds = [seed + i for i in range(len(all_texts))]
        features: list[np.ndarray] = []
        for start in range(0, len(all_texts), batch_size):
            chunk = slice(start, start + batch_size)
            condition, empty = self.encode_text(all_texts[chunk])
            latent = self.sample_latents(condition, empty, seeds[chunk], num_inference_steps, guidance_scale, progress)
            normalised = self.decode_latents(latent, all_lengths[chunk], use_projector, taps)
            for row, length in zip(normalised, all_lengths[chunk]):
                features.append(self.normalizer.denormalize(row[:length].numpy()).astype(np.float32))
        joints = [np.asarray(features_to_joints(f, self.config.skeleton), dtype=np.float32) for f in features]
        settings = dict(
            guidance_scale=guidance_scale, num_inference_steps=num_inference_steps, use_projector=use_projector,
            sampler="ddim", eta=0.0, seed=seed, num_samples=num_samples, concepts=sorted(self.concepts),
            smoothing=taps,
        )
        return MotionOutput(all_texts, all_lengths, seeds, features, joints, settings)
