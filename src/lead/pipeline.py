"""The generation core: three stages every caller composes.

    prompt = pipe.encode_prompt(texts, concepts)                      # text → condition
    z = pipe.sample(prompt, seeds, sampler, steps, guidance, callback)  # noise → clean z
    features = pipe.decode(z, lengths, projector)                     # z → normalised features
    pipe(texts, lengths, ...)                                         # the three, in batches, → joints

z is the scaled latent (`lead.models.latent`). `decode` realigns z through LEAD's projector first
(the model's own by default; `projector=None` is the MLD baseline; any other `LatentProjector` for
ablations), then the VAE decodes, the frames are low-passed by the model's `smoothing`, and the
root's path is corrected so that feet in contact stay planted (`foot_cleanup`, lead.motion.contacts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lead import defaults
from lead.diffusion import (
    DEFAULT_SAMPLER,
    Callback,
    ClassifierFreeGuidance,
    GuidanceEmbedding,
    check_steps,
    get_sampler,
)
from lead.diffusion import sample as run_sampler
from lead.errors import LeadError
from lead.models.bundle import BundleConfig, default_model_path, model_identity, read_bundle_config
from lead.models.denoiser import LatentDenoiser
from lead.models.latent import LatentSpace
from lead.models.projector import LatentProjector
from lead.models.text import TextEncoder, build_text_encoder
from lead.models.vae import MotionVAE
from lead.motion.contacts import check_foot_cleanup

# DDIM with MLD's steps_offset 1 over 1000 training steps: 1000 inference steps would start at t = 1000,
# past the schedule's last index.
MAX_STEPS = get_sampler("ddim").max_steps
DEFAULT = "default"  # decode(projector=DEFAULT): the model's own projector


@dataclass
class MotionOutput:
    """One entry per generated sample, in order: prompt 0's samples first."""

    texts: list[str]
    lengths: list[int]
    seeds: list[int]
    features: list[np.ndarray]  # each (T, F), de-normalised HumanML3D features
    joints: list[np.ndarray]  # each (T, J, 3), metres, Y up
    settings: dict = field(default_factory=dict)
    # each a lead.models.vocabulary.Coverage (its .warning is None when the model covers the text), or None
    # when the model has no vocabulary card or the text uses a learned <token>
    coverage: list = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """The distinct coverage warnings, one per prompt the model was not trained for."""
        return list(dict.fromkeys(item.warning for item in self.coverage if item is not None and item.warning))


@dataclass
class Prompt:
    """Encoded texts: the pooled condition `[B, C]` and the empty-text embedding `[B, C]` for guidance."""

    texts: list[str]
    condition: torch.Tensor
    empty: torch.Tensor
    concepts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


_PLACEHOLDER = re.compile(r"<[^<>\s]+>")


def _check_placeholders(texts: Sequence[str], vectors: Mapping[str, torch.Tensor]) -> None:
    """A `<word>` in a prompt is a learned concept's token: refuse one that no given concept defines
    (it would otherwise be read as the characters '<', 'word', '>')."""
    for text in texts:
        for token in _PLACEHOLDER.findall(text):
            if token not in vectors:
                known = f" (given: {', '.join(sorted(vectors))})" if vectors else ""
                raise LeadError(f"the prompt {text!r} uses {token}, but no concept defines it{known}: pass the "
                                f"concept file learned for it (--concept FILE; learn one with `lead invert`)")


def _concept_vectors(concepts) -> dict[str, torch.Tensor]:
    """None, a {token: embedding} dict, or a list of `Concept`s → {token: embedding}, duplicates refused."""
    if not concepts:
        return {}
    if isinstance(concepts, dict):
        return dict(concepts)
    vectors: dict[str, torch.Tensor] = {}
    for concept in concepts:
        if concept.token in vectors:
            raise LeadError(f"two concepts claim the token {concept.token}; give each token once")
        vectors[concept.token] = concept.embedding
    return vectors


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
        lcm: LatentDenoiser | None = None,
    ) -> None:
        self.text_encoder = text_encoder
        self.vae = vae.eval().requires_grad_(False)
        self.denoiser = denoiser.eval().requires_grad_(False) if denoiser is not None else None
        self.projector = projector.eval().requires_grad_(False) if projector is not None else None
        self.lcm = lcm.eval().requires_grad_(False) if lcm is not None else None
        self.normalizer = normalizer
        self.config = config
        self.identity = identity or {}
        self.latent_space = LatentSpace(self.vae, config.latent_scale)
        self.device = torch.device("cpu")
        self.dtype = torch.float32

    @classmethod
    def from_pretrained(
        cls, folder: str | Path | None = None, text_encoder: TextEncoder | None = None
    ) -> TextToMotionPipeline:
        from lead.motion.features import Normalizer

        folder = Path(folder) if folder is not None else default_model_path()
        config = read_bundle_config(folder)
        from lead.models.registry import COMPONENTS, load_component

        parts = {name: load_component(folder, name) for name in COMPONENTS}
        vae, denoiser, projector, lcm = (parts[name] for name in ("vae", "denoiser", "projector", "lcm"))
        if denoiser is None and lcm is None:
            raise LeadError(f"{folder} has no denoiser/ component; train it with `lead train denoiser`")
        if text_encoder is None:
            text_encoder = build_text_encoder(config.text_encoder, config.text_encoder_path)
        for network in (denoiser, lcm):
            if network is not None and text_encoder.dim != network.config.text_dim:
                raise LeadError(
                    f"{folder}: the denoiser expects {network.config.text_dim}-d text embeddings but the "
                    f"{config.text_encoder} encoder gives {text_encoder.dim}-d"
                )
        normalizer = Normalizer.load(folder)
        pipe = cls(text_encoder, vae, denoiser, normalizer, config, projector, model_identity(folder), lcm)
        pipe.folder = folder  # where prompt_coverage finds the vocabulary card, read on first use
        return pipe

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> TextToMotionPipeline:
        """Move the networks (text encoder included) to `device` and/or cast them to `dtype`. Noise is
        always drawn on the CPU in float32 from the seeds, so a seed gives the same motion anywhere."""
        device = torch.device(device) if device is not None else self.device
        dtype = dtype or self.dtype
        for module in (self.vae, self.denoiser, self.projector, self.lcm):
            if module is not None:
                module.to(device=device, dtype=dtype)
        self.text_encoder.to(device=device)
        self.device, self.dtype = device, dtype
        return self

    # --- concepts (motion textual inversion) -------------------------------------------
    def load_concept(self, path: str | Path):
        """Read and check a concept file (`lead invert`); pass the result to `encode_prompt(concepts=...)`."""
        from lead.inversion import load_concept

        concept = load_concept(path)
        if concept.text_encoder_identity != self.text_encoder.identity:
            raise LeadError(
                f"concept {path} was learned for text encoder {concept.text_encoder_identity!r}, "
                f"but this model uses {self.text_encoder.identity!r}"
            )
        width = self.text_encoder.input_embeddings.weight.shape[-1]
        if concept.embedding.shape != (width,):
            raise LeadError(f"concept {path}: its embedding has shape {tuple(concept.embedding.shape)}, but "
                            f"this model's text encoder takes {width}-d word embeddings; it belongs to another "
                            "text encoder")
        return concept

    # --- prompt coverage ---------------------------------------------------------------------
    def vocabulary(self):
        """The model's vocabulary card (`lead.models.vocabulary`), read once on first use; None without one,
        or when it was made with another text encoder."""
        if not hasattr(self, "_vocabulary"):
            from lead.models.vocabulary import VocabularyCard

            folder = getattr(self, "folder", None)
            card = VocabularyCard.load(folder) if folder is not None else None
            self._vocabulary = card if card is not None and card.text_encoder == self.text_encoder.identity else None
        return self._vocabulary

    @torch.no_grad()
    def prompt_coverage(self, texts: Sequence[str]) -> list:
        """Per text, a `Coverage` saying how far it is from the training captions (and a warning naming the
        nearest things the model does when it is too far), or None (no card; a text with a learned <token>)."""
        texts = list(texts)
        card = self.vocabulary()
        plain = list(dict.fromkeys(t for t in texts if not _PLACEHOLDER.search(t)))
        if card is None or not plain:
            return [None] * len(texts)
        pooled = self.text_encoder.encode_pooled(plain).float().cpu().numpy()
        found = dict(zip(plain, card.check(plain, pooled)))
        return [found.get(text) for text in texts]

    # --- validation ----------------------------------------------------------------------
    def check_request(self, texts: list[str], lengths: list[int], concepts=None) -> None:
        """Refuse a request before any work: empty or long texts, lengths out of range, and a `<token>`
        that none of `concepts` defines."""
        if not texts:
            raise LeadError("no text given: pass a description such as 'a person walks forward'")
        if len(texts) != len(lengths):
            raise LeadError(f"{len(texts)} texts but {len(lengths)} lengths")
        from lead.text_check import clean_text

        for text in texts:
            clean_text(text)
        low, high = 1, self.max_frames
        for length in lengths:
            if not low <= length <= high:
                raise LeadError(
                    f"length {length} frames is out of range: this model generates {low}..{high} frames "
                    f"({high / self.config.fps:.1f} s at {self.config.fps} fps)"
                )
        _check_placeholders(texts, _concept_vectors(concepts))

    @property
    def max_frames(self) -> int:
        return min(self.vae.config.max_length, self.config.max_frames)

    # --- stage 1: text → condition ---------------------------------------------------------
    @torch.no_grad()
    def encode_prompt(self, texts: Sequence[str], concepts=None) -> Prompt:
        """Pooled text embeddings of `texts`; `concepts` (a list of `Concept`s or {token: embedding})
        give the learned words this call may use."""
        texts = list(texts)
        vectors = _concept_vectors(concepts)
        _check_placeholders(texts, vectors)
        with self.text_encoder.placeholders(vectors):
            condition = self.text_encoder.encode_pooled(texts)
        empty = self.text_encoder.empty(len(texts))
        return Prompt(texts, condition.to(self.device, self.dtype), empty.to(self.device, self.dtype), sorted(vectors))

    # --- stage 2: condition → z ------------------------------------------------------------
    def initial_noise(self, seeds: Sequence[int]) -> torch.Tensor:
        """Unit Gaussian `[B, S, D]`, row i from `seeds[i]` (drawn on the CPU in float32)."""
        return self._seeded_noise(seeds)[0]

    def _seeded_noise(self, seeds: Sequence[int]) -> tuple[torch.Tensor, list[torch.Generator]]:
        """(initial noise, each row's generator after its draw): a stochastic sampler goes on drawing
        from the row's own generator, so a row's motion does not depend on its batch."""
        shape = self.latent_space.shape
        generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        return torch.stack([torch.randn(shape, generator=g) for g in generators]), generators

    def _denoiser_for(self, sampler: str) -> LatentDenoiser:
        component = get_sampler(sampler).component
        if component == "lcm":
            if self.lcm is None:
                raise LeadError(f"the {sampler} sampler needs the model's lcm/ component (a consistency-distilled "
                                "denoiser): distill one with `lead train lcm`, or choose another sampler")
            return self.lcm
        if self.denoiser is None:
            raise LeadError(f"this model has only a consistency-distilled lcm/ denoiser: sample it with the lcm "
                            f"sampler (--sampler lcm --steps 1..4), not {sampler}")
        return self.denoiser

    @torch.no_grad()
    def sample(
        self,
        prompt: Prompt,
        seeds: Sequence[int] | None = None,
        generator: torch.Generator | None = None,
        sampler: str = DEFAULT_SAMPLER,
        num_inference_steps: int = defaults.STEPS,
        guidance_scale: float | None = None,
        guidance=None,
        latents: torch.Tensor | None = None,
        callback: Callback | None = None,
        progress: Callable | None = None,
    ) -> torch.Tensor:
        """Clean z `[B, S, D]` for `prompt`, from `latents` (initial noise) if given, else one noise per
        seed, else noise from `generator`. `guidance_scale` None: the model's (`resolve_guidance`); `guidance`
        (a wrapper such as `ClassifierFreeGuidance`) overrides it; `callback(StepState)` sees each step and may
        replace the latent."""
        check_steps(sampler, num_inference_steps)
        spec = get_sampler(sampler)
        denoiser = self._denoiser_for(sampler)
        step_generator = generator
        if latents is None:
            if seeds is not None:
                if len(seeds) != len(prompt):
                    raise LeadError(f"{len(seeds)} seeds for {len(prompt)} prompts")
                latents, step_generator = self._seeded_noise(seeds)
            else:
                latents = torch.randn((len(prompt), *self.latent_space.shape), generator=generator)
        elif latents.shape != (len(prompt), *self.latent_space.shape):
            raise LeadError(f"latents has shape {tuple(latents.shape)}; expected "
                            f"{(len(prompt), *self.latent_space.shape)}")
        latents = latents.to(self.device, self.dtype)
        if guidance is None:
            embedded = denoiser.config.guidance_embedding_dim > 0
            scale = self.resolve_guidance(guidance_scale, sampler)
            guidance = (GuidanceEmbedding if embedded else ClassifierFreeGuidance)(scale)
        denoise = guidance(denoiser, prompt.condition, prompt.empty)
        prediction = denoiser.config.prediction_type
        if not spec.stochastic:
            step_generator = None
        elif step_generator is None:
            step_generator = torch.Generator().manual_seed(0)  # given latents and no generator: still repeatable
        return run_sampler(denoise, latents, spec.build(prediction), num_inference_steps, spec.step_kwargs, callback,
                           progress, prediction, step_generator)

    def resolve_guidance(self, scale: float | None, sampler: str = DEFAULT_SAMPLER) -> float:
        """The guidance scale to use, checked: `scale` if given, else the model's `guidance` (config.json) —
        for the lcm sampler lead's default (7.5), inside the [5, 15] its student was distilled on."""
        if scale is None:
            scale = defaults.GUIDANCE if sampler == "lcm" else self.config.guidance
        if not isinstance(scale, int | float) or not math.isfinite(scale) or scale < 0:
            raise LeadError(f"guidance must be a finite number >= 0, got {scale}")
        return float(scale)

    # --- stage 3: z → features -------------------------------------------------------------
    def _projector(self, projector) -> LatentProjector | None:
        if isinstance(projector, str) and projector == DEFAULT:
            if self.projector is None:
                raise LeadError("this model has no projector/ component: decode with projector=None (MLD) "
                                "or train one with `lead train projector`")
            return self.projector
        return projector

    @torch.no_grad()
    def decode(self, z: torch.Tensor, lengths: Sequence[int], projector=DEFAULT,
               smoothing: int | None = None, foot_cleanup: float | None = None) -> torch.Tensor:
        """z `[B, S, D]` → normalised features `[B, max(lengths), F]`: LEAD realigns z through
        `projector` (the model's by default, None: MLD), the VAE decodes, `smoothing` binomial taps
        (default the model's) low-pass the frames, and `foot_cleanup` (strength in [0, 1], default
        the model's) pins the feet the model puts in contact by correcting the root's path."""
        projector = self._projector(projector)
        if projector is not None:
            z = projector(z)
        lengths = torch.as_tensor(list(lengths), device=z.device)
        features = self.latent_space.decode(z, lengths)
        taps = self.config.smoothing if smoothing is None else smoothing
        if taps > 1:
            from lead.models.layers import binomial_smooth, lengths_to_mask

            features = binomial_smooth(features, lengths, taps) * lengths_to_mask(lengths, features.shape[1])[..., None]
        strength = self._foot_cleanup(foot_cleanup)
        if strength > 0:
            features = self._clean_feet(features, lengths, strength)
        return features

    def _foot_cleanup(self, strength: float | None) -> float:
        """The cleanup strength to use (the model's when None), checked."""
        return check_foot_cleanup(self.config.foot_cleanup if strength is None else strength)

    def _clean_feet(self, features: torch.Tensor, lengths: torch.Tensor, strength: float) -> torch.Tensor:
        from lead.motion.contacts import FootCleanup, clean_feet

        settings = FootCleanup(strength=strength)
        rows = features.detach().to("cpu", torch.float32).numpy().copy()
        for row, length in zip(rows, lengths.tolist()):
            raw = self.normalizer.denormalize(row[:length])
            row[:length] = self.normalizer.normalize(clean_feet(raw, self.config.skeleton, settings))
        return torch.from_numpy(rows).to(features.device, features.dtype)

    def to_motion(self, features: torch.Tensor, lengths: Sequence[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Normalised features `[B, T, F]` → (de-normalised features `(T, F)`, joints `(T, J, 3)`) per row."""
        from lead.motion.features import features_to_joints

        rows = features.detach().to("cpu", torch.float32).numpy()
        raw = [self.normalizer.denormalize(row[:length]).astype(np.float32) for row, length in zip(rows, lengths)]
        joints = [np.asarray(features_to_joints(f, self.config.skeleton), dtype=np.float32) for f in raw]
        return raw, joints

    def generate_batches(
        self,
        texts: Sequence[str],
        lengths: Sequence[int],
        seeds: Sequence[int],
        projectors: Mapping | None = None,
        batch_size: int = defaults.BATCH_SIZE,
        concepts=None,
        sampler: str = DEFAULT_SAMPLER,
        num_inference_steps: int = defaults.STEPS,
        guidance_scale: float | None = None,
        smoothing: int | None = None,
        callback: Callback | None = None,
        progress: Callable | None = None,
        batches: Callable | None = None,
        foot_cleanup: float | None = None,
    ) -> Iterator[tuple[slice, dict, list[str]]]:
        """Sample once per text, decode the same z several ways: yields (rows, {name: normalised features
        `[b, T, F]`}, concepts used) per batch. `projectors` maps a row name to DEFAULT (the model's
        projector), None (MLD) or a `LatentProjector`; default {"lead": DEFAULT}. `batches` wraps the
        batch iterator (e.g. tqdm); `progress` wraps each run's timesteps."""
        projectors = dict(projectors) if projectors is not None else {"lead": DEFAULT}
        resolved = {name: self._projector(projector) for name, projector in projectors.items()}
        foot_cleanup = self._foot_cleanup(foot_cleanup)  # refused before any sampling
        starts = range(0, len(texts), batch_size)
        for start in batches(starts) if batches else starts:
            rows = slice(start, start + batch_size)
            prompt = self.encode_prompt(texts[rows], concepts)
            z = self.sample(prompt, seeds[rows], sampler=sampler, num_inference_steps=num_inference_steps,
                            guidance_scale=guidance_scale, callback=callback, progress=progress)
            yield rows, {name: self.decode(z, lengths[rows], projector, smoothing, foot_cleanup)
                         for name, projector in resolved.items()}, prompt.concepts

    def __call__(
        self,
        texts: list[str] | str,
        lengths: list[int] | int,
        num_samples: int = 1,
        seed: int = 0,
        guidance_scale: float | None = None,
        num_inference_steps: int = defaults.STEPS,
        use_projector: bool = True,
        batch_size: int = defaults.BATCH_SIZE,
        progress=None,
        smoothing: int | None = None,
        sampler: str = DEFAULT_SAMPLER,
        concepts=None,
        callback: Callback | None = None,
        foot_cleanup: float | None = None,
    ) -> MotionOutput:
        texts = [texts] if isinstance(texts, str) else list(texts)
        lengths = [lengths] * len(texts) if isinstance(lengths, int) else list(lengths)
        self.check_request(texts, lengths, concepts)
        check_steps(sampler, num_inference_steps)
        if num_samples < 1:
            raise LeadError(f"num_samples must be at least 1, got {num_samples}")
        taps = self.config.smoothing if smoothing is None else int(smoothing)
        if taps > 1 and taps % 2 == 0 or taps < 0:
            raise LeadError(f"smoothing must be 0 or an odd number of taps (3, 5, 9, ...), got {taps}")
        strength = self._foot_cleanup(foot_cleanup)
        guidance_scale = self.resolve_guidance(guidance_scale, sampler)
        all_texts = [t for t in texts for _ in range(num_samples)]
        all_lengths = [n for n in lengths for _ in range(num_samples)]
        seeds = [seed + i for i in range(len(all_texts))]
        features: list[np.ndarray] = []
        joints: list[np.ndarray] = []
        used: list[str] = []
        for rows, decoded, concepts_used in self.generate_batches(
            all_texts, all_lengths, seeds, {"out": DEFAULT if use_projector else None}, batch_size, concepts,
            sampler, num_inference_steps, guidance_scale, taps, callback, progress, foot_cleanup=strength,
        ):
            raw, positions = self.to_motion(decoded["out"], all_lengths[rows])
            features += raw
            joints += positions
            used = concepts_used
        settings = dict(
            guidance_scale=guidance_scale, num_inference_steps=num_inference_steps, use_projector=use_projector,
            sampler=sampler, **get_sampler(sampler).step_kwargs, seed=seed, num_samples=num_samples,
            concepts=used, smoothing=taps, foot_cleanup=strength,
        )
        coverage = dict(zip(texts, self.prompt_coverage(texts)))
        return MotionOutput(all_texts, all_lengths, seeds, features, joints, settings,
                            [coverage[text] for text in all_texts])
