"""The inversion loop: everything frozen, Adam on one input embedding v*.

Each step draws a batch of random crops of the example motions, encodes them with the frozen VAE
to z₀ (scaled by the model's latent_scale, the space the denoiser works in), noises them with the
DDPM training schedule at uniform random t, and conditions the denoiser on a template prompt holding
the placeholder ("the man <*>", ...). With F(ε) = (z_t − √(1−ᾱ_t)·ε)/√ᾱ_t (paper Eq. 10; F of the
true noise is z₀ itself) the objectives are

- ``lead`` (paper Eq. 9): ‖E_proj(F(ε)) − E_proj(F(ε_θ(z_t, t, τ(y′))))‖²  (the realigned space)
- ``mld``: ‖ε − ε_θ(z_t, t, τ(y′))‖²  (image textual inversion's loss, in the VAE latent space)
- ``feat``: ‖D_vae(F(ε)) − D_vae(F(ε_θ(...)))‖²  (decoded motion features, at the crop lengths)

all as means over elements (Adam is insensitive to the overall scale).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lead.diffusion import add_noise, make_training_scheduler, predict_epsilon, predict_x0
from lead.errors import LeadError
from lead.inversion.examples import MIN_CROP, ExampleMotion, random_crops

OBJECTIVES = ("lead", "mld", "feat")
# Template texts in the paper's style (§4.2, built from HumanML3D captions); "{}" is the placeholder.
TEMPLATES = (
    "the sim {}", "the man {}", "the woman {}", "figure {}", "someone {}", "he {}", "she {}",
    "a robot {}", "a person {}", "the person {}", "a man {}", "a woman {}", "the figure {}", "a human {}",
)
# Measured on the small default model (see the module docstring of lead.inversion): lr 5e-3 for 200
# steps brings the objective down steadily without the token's norm running away.
DEFAULT_STEPS = 200
DEFAULT_LR = 5e-3
DEFAULT_BATCH_SIZE = 4
EVAL_DRAWS = 64


@dataclass
class InversionBatch:
    """One optimisation batch; everything but the prompt's embedding is fixed."""

    latents: torch.Tensor  # [B, S, D] clean latents z₀, scaled by latent_scale
    lengths: torch.Tensor  # [B] crop lengths in frames
    noise: torch.Tensor  # [B, S, D] ε
    timesteps: torch.Tensor  # [B] DDPM steps in [0, 1000)
    noisy: torch.Tensor  # [B, S, D] z_t
    prompts: list[str]


@dataclass
class InversionResult:
    embedding: torch.Tensor  # [D_in] the learned v*
    initial: torch.Tensor  # [D_in] v* before optimisation (the init word's embedding)
    losses: list[float]  # per step
    objective_before: float | None = None  # the objective on fixed held-out draws, with the init vector
    objective_after: float | None = None  # ... and with the learned one


def check_token(text_encoder, token: str) -> None:
    """A placeholder must be a new word: an existing one would change the meaning of every text using it."""
    tokenizer = text_encoder.tokenizer
    existing = token in tokenizer.get_vocab() and token not in tokenizer.added_tokens_encoder
    if existing or token in tokenizer.all_special_tokens:
        raise LeadError(f"token {token!r} is already a word of the {text_encoder.identity} vocabulary; "
                        f"pick a new one such as '<{token.strip('<>')}-style>'")


class MotionInversion:
    """Learn `token`'s input embedding from example motions with one of `OBJECTIVES`.

    pipeline: a `TextToMotionPipeline` (its modules are used frozen); examples: raw features `[T, D]`.
    """

    def __init__(
        self, pipeline, examples: list[ExampleMotion], token: str, init_word: str | None = None,
        objective: str = "lead", min_crop: int = MIN_CROP, templates: tuple[str, ...] = TEMPLATES,
    ) -> None:
        if objective not in OBJECTIVES:
            raise LeadError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
        if objective == "lead" and pipeline.projector is None:
            raise LeadError(
                "objective 'lead' needs the model's projector/ component, which this model lacks; "
                "train one with `lead train projector` or use --objective mld (or feat)"
            )
        if not examples:
            raise LeadError("no example motions given")
        dim = pipeline.vae.config.feature_dim
        for example in examples:
            if example.features.shape[-1] != dim:
                raise LeadError(f"example {example.name} has {example.features.shape[-1]}-d features; "
                                f"the model expects {dim}-d")
        self.pipeline = pipeline
        self.text_encoder = pipeline.text_encoder
        check_token(self.text_encoder, token)
        self.token, self.init_word, self.objective = token, init_word, objective
        self.min_crop, self.templates = min_crop, templates
        self.initial = self.text_encoder.add_placeholder(token, init_word)
        self.examples = [
            np.asarray(pipeline.normalizer.normalize(e.features), dtype=np.float32) for e in examples
        ]
        self.max_length = min(pipeline.vae.config.max_length, pipeline.config.max_frames)
        self.latent_space = pipeline.latent_space
        self.prediction_type = pipeline.denoiser.config.prediction_type
        self.num_train_timesteps = make_training_scheduler().config.num_train_timesteps

    # --- batches ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_batch(self, rng: np.random.Generator, batch_size: int = DEFAULT_BATCH_SIZE) -> InversionBatch:
        """Random crops → frozen VAE (posterior sample) → z₀ → DDPM noise at random t; all from `rng`."""
        crops, lengths = random_crops(self.examples, batch_size, self.max_length, rng, self.min_crop)
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        features = torch.zeros(batch_size, max(lengths), self.examples[0].shape[-1])
        for row, crop in enumerate(crops):
            features[row, : len(crop)] = torch.from_numpy(crop)
        lengths_t = torch.tensor(lengths)
        latents = self.latent_space.encode(features, lengths_t, generator)
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = torch.randint(0, self.num_train_timesteps, (batch_size,), generator=generator)
        noisy = add_noise(latents, noise, timesteps)
        choice = rng.integers(len(self.templates), size=batch_size)
        prompts = [self.templates[int(i)].format(self.token) for i in choice]
        return InversionBatch(latents, lengths_t, noise, timesteps, noisy, prompts)

    def predicted_original(self, noisy: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """F(ε) = (z_t − √(1−ᾱ_t)·ε)/√ᾱ_t, `[B, S, D]` (paper Eq. 10)."""
        return predict_x0(noisy, noise, timesteps)

    # --- objective --------------------------------------------------------------------------
    def condition(self, vector: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """Pooled text embeddings `[B, C]` of the prompts with the placeholder set to `vector`."""
        with self.text_encoder.placeholders({self.token: vector}):
            return self.text_encoder.encode_pooled(prompts)

    def loss(self, vector: torch.Tensor, batch: InversionBatch) -> torch.Tensor:
        """The objective for v* = `vector` on `batch` (a scalar; differentiable w.r.t. `vector` only)."""
        output = self.pipeline.denoiser(batch.noisy, batch.timesteps, self.condition(vector, batch.prompts))
        predicted = predict_epsilon(batch.noisy, output, batch.timesteps, self.prediction_type)
        if self.objective == "mld":
            return F.mse_loss(predicted, batch.noise)
        estimate = self.predicted_original(batch.noisy, predicted, batch.timesteps)
        with torch.no_grad():
            target = self.predicted_original(batch.noisy, batch.noise, batch.timesteps)
        if self.objective == "lead":
            projector = self.pipeline.projector
            with torch.no_grad():
                target_projected = projector.encode(target)
            return F.mse_loss(projector.encode(estimate), target_projected)
        with torch.no_grad():
            target_motion = self.latent_space.decode(target, batch.lengths)
        motion = self.latent_space.decode(estimate, batch.lengths)
        # Frames past each crop's length are zero in both; average over the valid ones only.
        valid = batch.lengths.sum() * motion.shape[-1]
        return ((motion - target_motion) ** 2).sum() / valid

    # --- optimisation -------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, vector: torch.Tensor, batches: list[InversionBatch]) -> float:
        """Mean objective over fixed batches (same crops, noise, t and prompts for any vector)."""
        return float(np.mean([self.loss(vector, batch).item() for batch in batches]))

    def evaluation_batches(self, seed: int, draws: int = EVAL_DRAWS) -> list[InversionBatch]:
        """`draws` fixed draws (in batches of up to 16) from a stream apart from the training one."""
        rng = np.random.default_rng([seed, 1])
        return [self.sample_batch(rng, min(16, draws - start)) for start in range(0, draws, 16)]

    def run(
        self, steps: int = DEFAULT_STEPS, lr: float = DEFAULT_LR, seed: int = 0,
        batch_size: int = DEFAULT_BATCH_SIZE, callback: Callable[[int, float], None] | None = None,
        eval_draws: int = EVAL_DRAWS,
    ) -> InversionResult:
        """Optimise v* with Adam for `steps` steps; `callback(step, loss)` after each.

        Single-step losses swing with the random timestep far more than v* changes them, so the
        objective is also measured on `eval_draws` fixed draws before and after (0 skips that)."""
        if steps < 1:
            raise LeadError(f"steps must be at least 1, got {steps}")
        if not lr > 0:
            raise LeadError(f"lr must be positive, got {lr}")
        if batch_size < 1:
            raise LeadError(f"batch_size must be at least 1, got {batch_size}")
        rng = np.random.default_rng(seed)
        held_out = self.evaluation_batches(seed, eval_draws) if eval_draws > 0 else []
        before = self.evaluate(self.initial, held_out) if held_out else None
        vector = self.initial.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([vector], lr=lr)
        losses = []
        for step in range(steps):
            batch = self.sample_batch(rng, batch_size)
            loss = self.loss(vector, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if not torch.isfinite(vector).all():
                raise LeadError(f"inversion diverged at step {step + 1} (non-finite embedding); "
                                "lower the learning rate (lr)")
            losses.append(float(loss.detach()))
            if callback is not None:
                callback(step, losses[-1])
        learned = vector.detach().clone()
        after = self.evaluate(learned, held_out) if held_out else None
        return InversionResult(learned, self.initial.clone(), losses, before, after)
