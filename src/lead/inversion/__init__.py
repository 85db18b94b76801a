"""Motion textual inversion (MTI, paper §4.2): learn one word's embedding from example motions.

The text encoder, VAE, denoiser and projector stay frozen; only v*, the input embedding of a new
placeholder word (initialised from `init_word`), is optimised with Adam. See `optimize` for the three
objectives (``lead`` = paper Eq. 9, ``mld``, ``feat``) and `concept` for the file format.

Defaults (`DEFAULT_STEPS`, `DEFAULT_LR`, batch 4): the paper reports 20 steps for its models; our
models need more. Measured (lead objective, fixed evaluation batch before/after):
see `lead invert --help` for the numbers behind the choice.
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
