"""The text-encoder interface shared by every backend.

A text encoder is frozen: its weights never receive gradients. It returns a pooled
sentence embedding (the diffusion condition and LEAD's alignment target) and token-level
states with a mask. Placeholder tokens (motion textual inversion) get their input
embedding from the caller, so gradients flow to that embedding and nowhere else.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from lead.errors import LeadError
from lead.text_check import MAX_TEXT_CHARS


@dataclass
class TextEncoding:
    """pooled `[B, D]`, tokens `[B, L, D_tok]`, mask `[B, L]` (True = real token)."""

    pooled: torch.Tensor
    tokens: torch.Tensor
    mask: torch.Tensor


class TextEncoder(nn.Module):
    """Base class: subclasses set `tokenizer`, `model`, `dim`, `identity` and implement `_forward`."""

    dim: int
    identity: str
    max_tokens: int

    def __init__(self) -> None:
        super().__init__()
        self._placeholders: dict[str, int] = {}
        self._placeholder_vectors: dict[int, torch.Tensor] = {}
        self._hits: dict[int, torch.Tensor] = {}
        self._hook = None
        self._empty: tuple[tuple, torch.Tensor] | None = None  # ((device, dtype) of the weights, embedding)

    # --- subclass API -------------------------------------------------------------
    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> TextEncoding:
        raise NotImplementedError

    @property
    def input_embeddings(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    # --- public API ----------------------------------------------------------------
    def freeze(self) -> TextEncoder:
        self.model.eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        return self

    def train(self, mode: bool = True) -> TextEncoder:
        # Frozen: always in eval mode, whatever the enclosing module does.
        return super().train(False)

    def add_placeholder(self, token: str, init_word: str | None = None) -> torch.Tensor:
        """Register `token` as one new word; return a suggested initial embedding `[D_in]`.

        The initial embedding is the mean input embedding of `init_word`'s word pieces (or of
        the vocabulary when no word is given).
        """
        if not token or any(ch.isspace() for ch in token):
            raise LeadError(f"placeholder token {token!r} must be one word without spaces, e.g. '<elderly>'")
        if token not in self._placeholders:
            ids = self.tokenizer(token, add_special_tokens=False)["input_ids"]
            if len(ids) == 1 and ids[0] != self.tokenizer.unk_token_id:
                raise LeadError(f"placeholder token {token!r} is a word the {self.identity} text encoder already "
                                f"knows: a concept would silently replace it in every prompt; use a new word "
                                f"such as '<{token.strip('<>')}>'")
            self.tokenizer.add_tokens([token], special_tokens=True)
            token_id = self.tokenizer.convert_tokens_to_ids(token)
            self._placeholders[token] = token_id
        weight = self.input_embeddings.weight
        if init_word:
            ids = self.tokenizer(init_word, add_special_tokens=False)["input_ids"]
            if not ids:
                raise LeadError(f"init word {init_word!r} has no tokens in the {self.identity} vocabulary")
            return weight[ids].mean(0).detach().clone()
        return weight.mean(0).detach().clone()

    @contextlib.contextmanager
    def placeholders(self, vectors: dict[str, torch.Tensor]):
        """Within the block, each placeholder token's input embedding is `vectors[token]`."""
        for token in vectors:
            if token not in self._placeholders:
                self.add_placeholder(token)
        self._placeholder_vectors = {self._placeholders[t]: v for t, v in vectors.items()}
        handle = self.input_embeddings.register_forward_hook(self._substitute)
        try:
            yield self
        finally:
            handle.remove()
            self._placeholder_vectors = {}
            self._hits = {}

    def _mask_placeholders(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Record where placeholder ids sit and hide them from the (un-resized) embedding table."""
        self._hits = {}
        for token, token_id in self._placeholders.items():
            hit = input_ids == token_id
            if not hit.any():
                continue
            if token_id not in self._placeholder_vectors:
                raise LeadError(f"the text uses {token} but no concept for it was given "
                               "(concepts=...; on the command line --concept FILE)")
            self._hits[token_id] = hit
            input_ids = torch.where(hit, torch.full_like(input_ids, self.tokenizer.unk_token_id), input_ids)
        return input_ids

    def _substitute(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        # Input embeddings of the placeholder positions are replaced by the caller's vectors, so
        # gradients reach those vectors and no row of the frozen table is ever changed.
        for token_id, hit in getattr(self, "_hits", {}).items():
            vector = self._placeholder_vectors[token_id].to(output.dtype)
            output = torch.where(hit.unsqueeze(-1), vector.expand_as(output), output)
        return output

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        for text in texts:
            if len(text) > MAX_TEXT_CHARS:
                raise LeadError(f"text is {len(text)} characters long; at most {MAX_TEXT_CHARS} are accepted")
        return self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )

    def encode(self, texts: list[str]) -> TextEncoding:
        """Encode `texts` (distinct texts once each). Differentiable only w.r.t. placeholder vectors."""
        unique = list(dict.fromkeys(texts))
        batch = self.tokenize(unique)
        device = self.input_embeddings.weight.device
        batch = {k: v.to(device) for k, v in batch.items()}
        batch["input_ids"] = self._mask_placeholders(batch["input_ids"])
        grad = torch.is_grad_enabled() and any(v.requires_grad for v in self._placeholder_vectors.values())
        with torch.set_grad_enabled(grad):
            encoding = self._forward(batch["input_ids"], batch["attention_mask"])
        index = torch.tensor([unique.index(t) for t in texts], device=device)
        return TextEncoding(
            pooled=encoding.pooled[index], tokens=encoding.tokens[index], mask=encoding.mask[index]
        )

    def encode_pooled(self, texts: list[str]) -> torch.Tensor:
        return self.encode(texts).pooled

    def empty(self, batch_size: int = 1) -> torch.Tensor:
        """The empty-text embedding `[B, D]` used for classifier-free guidance (a view of one row).

        Encoded once per device and dtype: the encoder is frozen, and "" holds no placeholder. It is
        made outside inference mode, so a first call under `torch.inference_mode()` does not leave a
        tensor that a later training step could not save for backward."""
        weight = self.input_embeddings.weight
        key = (weight.device, weight.dtype)
        if self._empty is None or self._empty[0] != key:
            with torch.inference_mode(False), torch.no_grad():
                self._empty = key, self.encode_pooled([""])
        return self._empty[1].expand(batch_size, -1)
