"""Motion textual inversion (MTI, paper §4.2): learn one word's embedding from example motions.

The text encoder, VAE, denoiser and projector stay frozen; only v*, the input embedding of a new
placeholder word (initialised from `init_word`), is optimised with Adam. See `optimize` for the three
objectives (``lead`` = paper Eq. 9, ``mld``, ``feat``) and `concept` for the file format.

Defaults: 200 steps, Adam lr 5e-3, batches of 4 crops. The paper reports 20 steps; on our models 20
steps leave much of the achievable decrease untaken. Measured on the small Bandai-Namco default model
(runs/default, MiniLM text encoder) learning from 3 "walk, elderly" clips, with the objective evaluated
on 96 fixed held-out draws (crops, noise, t, prompts) after 0 / 20 / 100 / 200 steps:

    objective  lr     0       20      100     200     |v* - v0| at 200 (|v0| = 1.16)
    lead       2e-3   0.2469  0.1474  0.0940  0.0848  1.08
    lead       5e-3   0.2469  0.1141  0.0854  0.0814  1.58
    lead       2e-2   0.2469  0.1029  0.0832  0.0803  3.88
    mld        2e-3   0.3099  0.2798  0.2605  0.2594  1.11
    mld        5e-3   0.3099  0.2663  0.2597  0.2585  1.65
    mld        2e-2   0.3099  0.2641  0.2589  0.2582  3.93
    feat       2e-3   0.3476  0.1407  0.0397  0.0292  1.01
    feat       5e-3   0.3476  0.0699  0.0270  0.0233  1.46
    feat       2e-2   0.3476  0.0416  0.0237  0.0219  3.46

lr 2e-3 is still descending at 200 steps; lr 2e-2 gets there faster but pushes v* about three word-norms
away from the init word (out of the range of real word embeddings); lr 5e-3 reaches within ~5% of the
best value by 100 steps and keeps v* about one word-norm from its start. One step takes ~50 ms (lead,
mld) to ~0.5 s (feat: decodes 4 crops of up to 196 frames) on one CPU thread.
"""

from __future__ import annotations

from lead.inversion.concept import Concept, load_concept, save_concept
from lead.inversion.examples import ExampleMotion, load_example, load_examples
from lead.inversion.optimize import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LR,
    DEFAULT_STEPS,
    EVAL_DRAWS,
    OBJECTIVES,
    TEMPLATES,
    InversionBatch,
    InversionResult,
    MotionInversion,
)

__all__ = [
    "DEFAULT_BATCH_SIZE", "DEFAULT_LR", "DEFAULT_STEPS", "EVAL_DRAWS", "OBJECTIVES", "TEMPLATES", "Concept",
    "ExampleMotion", "InversionBatch", "InversionResult", "MotionInversion", "invert", "load_concept", "load_example",
    "load_examples", "save_concept",
]


def invert(
    pipeline, examples: list[ExampleMotion], token: str, init_word: str | None = None, objective: str = "lead",
    steps: int = DEFAULT_STEPS, lr: float = DEFAULT_LR, batch_size: int = DEFAULT_BATCH_SIZE, seed: int = 0,
    callback=None, eval_draws: int = EVAL_DRAWS,
) -> Concept:
    """Learn `token` from `examples` on `pipeline`'s frozen model; return the concept (not saved)."""
    from lead import __version__

    inversion = MotionInversion(pipeline, examples, token, init_word, objective)
    result = inversion.run(steps, lr, seed, batch_size, callback, eval_draws)
    return Concept(
        token=token, embedding=result.embedding, text_encoder_identity=pipeline.text_encoder.identity,
        init_word=init_word or "", objective=objective, steps=steps, lr=lr, batch_size=batch_size, seed=seed,
        examples=[e.name for e in examples], lead_version=__version__,
        model={k: str(v) for k, v in pipeline.identity.items()}, losses=result.losses,
        objective_before=result.objective_before, objective_after=result.objective_after,
    )
