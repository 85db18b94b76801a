"""Sentence-T5 text encoder (MotionLCM's `sentence-t5-large`, 768-d) from a local sentence-transformers
folder: the T5 encoder, mean pooling over the real tokens, the folder's Dense projection (`2_Dense`),
then L2 normalisation when the folder has a Normalize module — what `SentenceTransformer.encode` gives.

Folder layout (as published): config.json + model.safetensors (or pytorch_model.bin) of the T5 encoder,
tokenizer files, 1_Pooling/, 2_Dense/{config.json, model.safetensors | pytorch_model.bin}, 3_Normalize/,
modules.json. No weights ship with lead (none are on PyPI): point --text-encoder-path at the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lead.errors import LeadError
from lead.models.text.base import TextEncoder, TextEncoding


def _read_dense(folder: Path) -> nn.Linear | None:
    """The sentence-transformers Dense module in `folder` (config.json + weights), or None when absent."""
    if not (folder / "config.json").is_file():
        return None
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    activation = config.get("activation_function", "torch.nn.modules.linear.Identity")
    if not activation.endswith("Identity"):
        raise LeadError(f"{folder}: Dense activation {activation} is not supported (sentence-t5 uses Identity)")
    layer = nn.Linear(int(config["in_features"]), int(config["out_features"]), bias=bool(config.get("bias", True)))
    if (folder / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(folder / "model.safetensors"))
    elif (folder / "pytorch_model.bin").is_file():
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise LeadError(f"{folder} has a Dense config but no model.safetensors / pytorch_model.bin")
    state = {key.removeprefix("linear."): value for key, value in state.items()}
    layer.load_state_dict(state, strict=True)
    return layer


class SentenceT5TextEncoder(TextEncoder):
    def __init__(self, path: str) -> None:
        super().__init__()
        from transformers import AutoTokenizer, T5EncoderModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise LeadError(f"sentence-T5 folder {path} not found or has no config.json: pass a local "
                            "sentence-transformers folder such as sentence-t5-large")
        try:
            self.model = T5EncoderModel.from_pretrained(folder)
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
        except (OSError, ValueError) as error:
            raise LeadError(f"could not load the sentence-T5 encoder from {path}: {error}") from error
        self.path = str(path)
        self.dense = _read_dense(folder / "2_Dense")
        modules = folder / "modules.json"
        listed = json.loads(modules.read_text(encoding="utf-8")) if modules.is_file() else []
        self.normalize = (folder / "3_Normalize").is_dir() or any("Normalize" in m.get("type", "") for m in listed)
        self.dim = int(self.dense.out_features if self.dense is not None else self.model.config.d_model)
        settings = folder / "sentence_bert_config.json"
        limit = json.loads(settings.read_text(encoding="utf-8")).get("max_seq_length") if settings.is_file() else None
        self.max_tokens = int(limit or min(self.tokenizer.model_max_length, 512))
        self.identity = f"t5:{folder.name}:{self.dim}"
        self.freeze()
        if self.dense is not None:
            self.dense.requires_grad_(False)

    @property
    def input_embeddings(self) -> nn.Embedding:
        # The encoder's own table: T5EncoderModel may hold it apart from get_input_embeddings() (`shared`),
        # and the placeholder hook must sit on the module the encoder calls.
        return self.model.encoder.embed_tokens

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> TextEncoding:
        tokens = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        if self.dense is not None:
            pooled = self.dense(pooled)
        if self.normalize:
            pooled = F.normalize(pooled, dim=-1)
        return TextEncoding(pooled=pooled, tokens=tokens, mask=attention_mask.bool())
