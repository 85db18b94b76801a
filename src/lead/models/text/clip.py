"""CLIP text encoder (the paper's choice): `text_embeds` of CLIPTextModelWithProjection, as MLD uses it.

Weights come from a local folder (or a hub id when the machine can reach the hub). ViT-L/14
gives 768-d embeddings.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lead.errors import LeadError
from lead.models.text.base import TextEncoder, TextEncoding


class CLIPTextEncoder(TextEncoder):
    def __init__(self, path: str, model=None, tokenizer=None) -> None:
        super().__init__()
        from transformers import AutoTokenizer, CLIPTextModelWithProjection
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        self.path = str(path)
        if model is None:
            text = str(path)
            looks_like_hub_id = text.count("/") == 1 and not text.startswith((".", "/", "~"))
            if not Path(text).exists() and not looks_like_hub_id:
                raise LeadError(f"CLIP folder {path} not found: pass a local folder with config.json and weights")
            try:
                model = CLIPTextModelWithProjection.from_pretrained(path)
                tokenizer = AutoTokenizer.from_pretrained(path)
            except OSError as error:
                raise LeadError(f"could not load CLIP text encoder from {path}: {error}") from error
        self.model = model
        self.tokenizer = tokenizer
        self.dim = int(model.config.projection_dim)
        self.max_tokens = int(model.config.max_position_embeddings)
        self.identity = f"clip:{Path(self.path).name}:{self.dim}"
        self.freeze()

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> TextEncoding:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return TextEncoding(pooled=out.text_embeds, tokens=out.last_hidden_state, mask=attention_mask.bool())
