"""lead: text-to-motion by latent diffusion with LEAD's latent realignment projector.

Heavy modules (torch models, the pipeline) are imported lazily so that `lead --help`
and the pure-geometry helpers stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["TextToMotionPipeline", "__version__"]


def __getattr__(name: str):
    if name == "TextToMotionPipeline":
        from lead.pipeline import TextToMotionPipeline

        return TextToMotionPipeline
    raise AttributeError(name)
