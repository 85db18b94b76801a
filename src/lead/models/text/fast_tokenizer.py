"""A tokenizer from a Hugging Face `tokenizer.json`, on the `tokenizers` library alone.

It offers the part of transformers' fast-tokenizer interface the text encoders and inversion use (call with
padding/truncation, `add_tokens(..., special_tokens=True)`, ids of tokens, the vocabulary) with the same
results (tests/test_text_encoders.py compares it with `AutoTokenizer`), without importing transformers, whose
package scan costs most of a second at every `lead` start."""

from __future__ import annotations

import json
from pathlib import Path

from lead.errors import LeadError


class FastTokenizer:
    def __init__(self, folder: str | Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        file = folder / "tokenizer.json"
        try:
            self._tokenizer = Tokenizer.from_file(str(file))
        except Exception as error:  # the Rust library raises its own exception type
            raise LeadError(f"{file}: cannot read the tokenizer ({error})") from None
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        special = {}
        special_file = folder / "special_tokens_map.json"
        if special_file.is_file():
            for name, value in json.loads(special_file.read_text(encoding="utf-8")).items():
                special[name] = value["content"] if isinstance(value, dict) else value
        self.unk_token = special.get("unk_token", "[UNK]")
        self.pad_token = special.get("pad_token", "[PAD]")
        self.all_special_tokens = list(dict.fromkeys(special.values()))
        self.unk_token_id = self._tokenizer.token_to_id(self.unk_token)
        self.pad_token_id = self._tokenizer.token_to_id(self.pad_token)
        self.added_tokens_encoder: dict[str, int] = {}

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(with_added_tokens=True)

    def convert_tokens_to_ids(self, token: str) -> int:
        found = self._tokenizer.token_to_id(token)
        return self.unk_token_id if found is None else found

    def add_tokens(self, tokens: list[str], special_tokens: bool = False) -> int:
        """New words matched whole in the raw text (as transformers adds special tokens: not normalised)."""
        from tokenizers import AddedToken

        new = [t for t in tokens if t not in self.get_vocab()]
        added = self._tokenizer.add_special_tokens(
            [AddedToken(t, special=special_tokens, normalized=not special_tokens) for t in new])
        for token in new:
            self.added_tokens_encoder[token] = self._tokenizer.token_to_id(token)
        return added

    def __call__(self, text: str | list[str], add_special_tokens: bool = True, padding: bool = False,
                 truncation: bool = False, max_length: int | None = None, return_tensors: str | None = None) -> dict:
        single = isinstance(text, str)
        if truncation and max_length:
            self._tokenizer.enable_truncation(max_length)
        else:
            self._tokenizer.no_truncation()
        if padding:
            self._tokenizer.enable_padding(pad_id=self.pad_token_id, pad_token=self.pad_token)
        else:
            self._tokenizer.no_padding()
        encodings = self._tokenizer.encode_batch([text] if single else list(text),
                                                 add_special_tokens=add_special_tokens)
        batch = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings]}
        if return_tensors == "pt":
            import torch

            return {key: torch.tensor(value, dtype=torch.long) for key, value in batch.items()}
        return {key: value[0] for key, value in batch.items()} if single else batch
