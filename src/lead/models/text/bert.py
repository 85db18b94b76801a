"""A BERT encoder in plain torch, loaded from a Hugging Face folder (`config.json` + `model.safetensors`).

What MiniLM needs and no more: absolute positions, one token type, post-norm layers with exact GELU. It gives
`transformers.BertModel`'s `last_hidden_state` (tests/test_text_encoders.py checks it against transformers) without
importing transformers' modelling code and its auto-loading, which cost a second or more of every `lead` start."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from lead.errors import LeadError


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_folder(cls, folder: Path) -> BertConfig:
        file = folder / "config.json"
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise LeadError(f"{file}: cannot read the text encoder's config ({error})") from None
        if raw.get("model_type") != "bert" or raw.get("hidden_act", "gelu") != "gelu" \
                or raw.get("position_embedding_type", "absolute") != "absolute":
            raise LeadError(f"{file}: expected a BERT config with absolute positions and GELU, got "
                            f"model_type={raw.get('model_type')!r}")
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__ if name in raw})


class _Embeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _Layer(nn.Module):
    """One post-norm BERT layer; attribute names follow BertLayer's so its state dict loads by name."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        size, eps = config.hidden_size, config.layer_norm_eps
        self.heads = config.num_attention_heads
        self.query, self.key, self.value = (nn.Linear(size, size) for _ in range(3))
        self.attention_dense, self.attention_norm = nn.Linear(size, size), nn.LayerNorm(size, eps=eps)
        self.intermediate = nn.Linear(size, config.intermediate_size)
        self.output_dense = nn.Linear(config.intermediate_size, size)
        self.output_norm = nn.LayerNorm(size, eps=eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, size = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, size // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)),
                                                 attn_mask=keep)
        x = self.attention_norm(x + self.attention_dense(context.transpose(1, 2).reshape(batch, length, size)))
        return self.output_norm(x + self.output_dense(F.gelu(self.intermediate(x))))


_RENAME = {  # BertLayer's names → ours
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "attention_dense", "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "intermediate", "output.dense": "output_dense", "output.LayerNorm": "output_norm",
}


class BertEncoder(nn.Module):
    """`forward(input_ids [B, L], attention_mask [B, L]) -> last hidden states [B, L, hidden_size]`."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.layers = nn.ModuleList(_Layer(config) for _ in range(config.num_hidden_layers))

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(input_ids)
        keep = attention_mask.bool()[:, None, None, :]  # [B, 1, 1, L]: every query sees the real tokens
        for layer in self.layers:
            x = layer(x, keep)
        return x

    @classmethod
    def from_folder(cls, folder: str | Path) -> BertEncoder:
        from safetensors.torch import load_file

        folder = Path(folder)
        encoder = cls(BertConfig.from_folder(folder))
        file = folder / "model.safetensors"
        try:
            weights = load_file(str(file))
        except (OSError, ValueError, RuntimeError) as error:
            raise LeadError(f"{file}: cannot read the text encoder's weights ({error})") from None
        state = {}
        for name, tensor in weights.items():
            name = name.removeprefix("bert.")
            if name.startswith("encoder.layer."):
                index, rest = name.removeprefix("encoder.layer.").split(".", 1)
                module, _, kind = rest.rpartition(".")
                name = f"layers.{index}.{_RENAME.get(module, module)}.{kind}"
            if name.startswith(("embeddings.", "layers.")) and name != "embeddings.position_ids":
                state[name] = tensor
        missing, unexpected = encoder.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise LeadError(f"{file}: not the weights of this BERT config (missing {missing[:3]}, "
                            f"unexpected {unexpected[:3]})")
        return encoder

