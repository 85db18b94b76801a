"""Text encoders behind one interface: `build_text_encoder("minilm")`, `build_text_encoder("clip", path)`
(MLD, LEAD) or `build_text_encoder("t5", path)` (MotionLCM's sentence-T5)."""

from __future__ import annotations

from lead.errors import LeadError
from lead.models.text.base import TextEncoder, TextEncoding

BACKENDS = ("minilm", "clip", "t5")


def build_text_encoder(backend: str = "minilm", path: str | None = None) -> TextEncoder:
    if backend == "minilm":
        from lead.models.text.minilm import MiniLMTextEncoder

        return MiniLMTextEncoder(path)
    if backend == "clip":
        from lead.models.text.clip import CLIPTextEncoder

        if not path:
            raise LeadError("the clip text encoder needs a folder: --text-encoder-path /path/to/clip-vit-large-patch14")
        return CLIPTextEncoder(path)
    if backend == "t5":
        from lead.models.text.t5 import SentenceT5TextEncoder

        if not path:
            raise LeadError("the t5 text encoder needs a folder: --text-encoder-path /path/to/sentence-t5-large")
        return SentenceT5TextEncoder(path)
    raise LeadError(f"unknown text encoder {backend!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "TextEncoder", "TextEncoding", "build_text_encoder"]
