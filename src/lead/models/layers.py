"""Building blocks shared by the VAE, the denoiser and the projector.

Batch-first tensors `[B, L, D]`. The layers are torch's own `nn.TransformerEncoderLayer` /
`nn.TransformerDecoderLayer` (post-norm, GELU): their parameter names (self_attn,
multihead_attn, linear1/2, norm1/2/3) are the ones MLD's DETR-style layers use, so MLD's
released checkpoints map onto these modules by renaming keys, and batch-first encoder layers
take torch's fused inference fast path (one native call per layer), which matters when the
denoiser runs 100 times per sample on three tokens.

Attention over a single key has softmax weight exactly 1 for every query, so its output is
out_proj(value) whatever the queries are. `encoder_block` and `decoder_block` use that in eval
mode (no dropout) when one token is all there is to attend to: the projector at MLD's latent size
(one token, 18 layers) and the VAE decoder's cross-attention to MLD's one latent token (196 queries).
They skip the query and key projections and the softmax, and give the layers' outputs up to float
round-off.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn


def encoder_layer(d_model: int, heads: int, ff_size: int, dropout: float) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(d_model, heads, ff_size, dropout, activation="gelu", batch_first=True)


def decoder_layer(d_model: int, heads: int, ff_size: int, dropout: float) -> nn.TransformerDecoderLayer:
    return nn.TransformerDecoderLayer(d_model, heads, ff_size, dropout, activation="gelu", batch_first=True)


def _one_token_path(layer: nn.Module, attention: nn.MultiheadAttention) -> bool:
    """Whether `layer` may short-cut `attention` over one token: eval mode (attention dropout would act on
    the weight 1), post-norm, and packed q/k/v projections."""
    return not layer.training and not layer.norm_first and attention.in_proj_weight is not None


def _attend_to_one(attention: nn.MultiheadAttention, token: torch.Tensor) -> torch.Tensor:
    """`attention(queries, token, token)` for a single key/value token `[B, 1, D]`: `[B, 1, D]`, the same
    for every query (broadcast it), because the one softmax weight is 1."""
    d = attention.embed_dim
    bias = attention.in_proj_bias
    value = F.linear(token, attention.in_proj_weight[2 * d:], None if bias is None else bias[2 * d:])
    return attention.out_proj(value)


def _feed_forward(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return layer.linear2(layer.activation(layer.linear1(x)))


def encoder_block(layer: nn.TransformerEncoderLayer, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """`layer(x, src_mask=mask, src_key_padding_mask=key_padding_mask)`; a one-token `x` `[B, 1, D]` in eval
    mode skips its self-attention's softmax (the module docstring says why)."""
    if x.shape[1] == 1 and key_padding_mask is None and mask is None and _one_token_path(layer, layer.self_attn):
        x = layer.norm1(x + _attend_to_one(layer.self_attn, x))
        return layer.norm2(x + _feed_forward(layer, x))
    return layer(x, src_mask=mask, src_key_padding_mask=key_padding_mask)


def decoder_block(layer: nn.TransformerDecoderLayer, x: torch.Tensor, memory: torch.Tensor,
                  tgt_key_padding_mask: torch.Tensor | None = None,
                  memory_mask: torch.Tensor | None = None) -> torch.Tensor:
    """`layer(x, memory, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask)`; a one-token
    memory `[B, 1, D]` in eval mode skips the cross-attention's query projection and softmax."""
    if memory.shape[1] == 1 and memory_mask is None and _one_token_path(layer, layer.multihead_attn):
        attended = layer.self_attn(x, x, x, key_padding_mask=tgt_key_padding_mask, need_weights=False)[0]
        x = layer.norm1(x + attended)
        x = layer.norm2(x + _attend_to_one(layer.multihead_attn, memory))
        return layer.norm3(x + _feed_forward(layer, x))
    return layer(x, memory, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask)


class _SkipStack(nn.Module):
    """MLD's long (U-Net style) skip connections; `num_layers` must be odd.

    input_blocks → middle_block → output_blocks, each output block first fusing the
    matching input block's output through `linear_blocks` (Linear(2D → D)), then a LayerNorm.
    """

    def __init__(self, layer: nn.Module, num_layers: int, d_model: int) -> None:
        super().__init__()
        if num_layers % 2 != 1:
            raise ValueError(f"a skip transformer needs an odd number of layers, got {num_layers}")
        half = (num_layers - 1) // 2
        self.input_blocks = nn.ModuleList(copy.deepcopy(layer) for _ in range(half))
        self.middle_block = copy.deepcopy(layer)
        self.output_blocks = nn.ModuleList(copy.deepcopy(layer) for _ in range(half))
        self.linear_blocks = nn.ModuleList(nn.Linear(2 * d_model, d_model) for _ in range(half))
        self.norm = nn.LayerNorm(d_model)

    def _run(self, x: torch.Tensor, block_call) -> torch.Tensor:
        skips = []
        for block in self.input_blocks:
            x = block_call(block, x)
            skips.append(x)
        x = block_call(self.middle_block, x)
        for block, linear in zip(self.output_blocks, self.linear_blocks):
            x = block_call(block, linear(torch.cat([x, skips.pop()], dim=-1)))
        return self.norm(x)


def _drop_empty(padding: torch.Tensor | None) -> torch.Tensor | None:
    """A padding mask that pads nothing → None: the same attention, without torch's slow masked-softmax
    path (a full-length batch, e.g. every batch-1 decode, ran ~20% slower through it)."""
    if padding is not None and not torch.is_grad_enabled() and not bool(padding.any()):
        return None
    return padding


class SkipTransformerEncoder(_SkipStack):
    """Self-attention skip transformer (MLD's VAE encoder and denoiser)."""

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """x `[B, L, D]`; key_padding_mask `[B, L]` True where padded; mask `[L, L]` True where a query
        may not attend to a key."""
        key_padding_mask = _drop_empty(key_padding_mask)
        return self._run(x, lambda block, h: encoder_block(block, h, key_padding_mask, mask))


class SkipTransformerDecoder(_SkipStack):
    """The decoder counterpart: queries attend to a memory (the latent) at every layer."""

    def forward(
        self, tgt: torch.Tensor, memory: torch.Tensor, tgt_key_padding_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """tgt `[B, T, D]`, memory `[B, M, D]`, tgt_key_padding_mask `[B, T]` True where padded,
        memory_mask `[T, M]` True where a query may not attend to a memory token."""
        tgt_key_padding_mask = _drop_empty(tgt_key_padding_mask)
        return self._run(tgt, lambda block, h: decoder_block(block, h, memory, tgt_key_padding_mask, memory_mask))


class LearnedPositionalEncoding(nn.Module):
    """MLD's `PositionEmbeddingLearned1D`: a learned `[max_len, 1, D]` table (MLD's shape) added to `[B, L, D]`."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0, init: str = "uniform",
                 step: int = 1) -> None:
        super().__init__()
        self.pe = nn.Parameter(torch.zeros(max_len, 1, d_model))
        if init == "sinusoidal":
            with torch.no_grad():
                self.pe.copy_(sinusoidal_table(max_len, d_model, step).unsqueeze(1))
        else:
            nn.init.uniform_(self.pe)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] > self.pe.shape[0]:
            raise ValueError(f"sequence of {x.shape[1]} exceeds the positional table ({self.pe.shape[0]})")
        return self.dropout(x + self.pe[: x.shape[1]].transpose(0, 1))


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sinusoidal encoding (Vaswani et al.) added to `[B, L, D]`; no parameters."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(max_len, d_model).unsqueeze(0), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[:, : x.shape[1]].to(x.dtype))


def sinusoidal_table(max_len: int, d_model: int, step: int = 1) -> torch.Tensor:
    """Vaswani et al.'s `[max_len, d_model]` table: sin on even channels, cos on odd ones; row i is
    position i·step (a token that holds `step` frames keeps the per-frame frequencies)."""
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1) * step
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div[: d_model // 2])
    return pe


def triangular_window(patch: int) -> torch.Tensor:
    """`[2p]` Bartlett weights, (k + 0.5) / p rising then falling: neighbours offset by p sum to 1."""
    rise = (torch.arange(patch, dtype=torch.float32) + 0.5) / patch
    return torch.cat([rise, rise.flip(0)])


def overlap_add(windows: torch.Tensor, window: torch.Tensor, tokens: int, dim: int) -> torch.Tensor:
    """`[B, N, 2p·F]` per-token frame windows → `[B, N·p, F]`: token j covers frames [j·p − p/2, j·p + 3p/2)
    weighted by `window` `[2p]`; the weights are normalised where fewer than two windows overlap (the ends)."""
    batch, patch = windows.shape[0], window.shape[0] // 2
    window = window.to(windows.dtype)
    windows = windows.reshape(batch, tokens, 2 * patch, dim) * window[:, None]
    out = windows.new_zeros(batch, tokens + 1, patch, dim)
    out[:, :tokens] += windows[:, :, :patch]
    out[:, 1:] += windows[:, :, patch:]
    weight = windows.new_zeros(tokens + 1, patch)
    weight[:tokens] += window[:patch]
    weight[1:] += window[patch:]
    out = (out / weight[None, :, :, None]).reshape(batch, (tokens + 1) * patch, dim)
    return out[:, patch // 2 : patch // 2 + tokens * patch]


def binomial_smooth(x: torch.Tensor, lengths: torch.Tensor, size: int) -> torch.Tensor:
    """Low-pass `[B, T, F]` over time with a binomial kernel of `size` taps (3: [1, 2, 1] / 4), each
    sequence's ends extended by repeating its first/last valid frame (so padding never leaks in)."""
    if size <= 1:
        return x
    if size % 2 != 1:
        raise ValueError(f"smoothing must be an odd number of taps, got {size}")
    kernel = torch.tensor([math.comb(size - 1, k) for k in range(size)], dtype=x.dtype, device=x.device)
    kernel = kernel / kernel.sum()
    radius = size // 2
    frames = x.shape[1]
    index = torch.arange(-radius, frames + radius, device=x.device)[None, :]
    index = torch.minimum(index.clamp(min=0), (lengths.to(x.device) - 1).clamp(min=0)[:, None])
    padded = torch.gather(x, 1, index[..., None].expand(-1, -1, x.shape[-1]))
    out = torch.zeros_like(x)
    for tap in range(size):
        out = out + kernel[tap] * padded[:, tap : tap + frames]
    return out


def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """`[B]` lengths → `[B, T]` bool mask, True on valid frames."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def guidance_scale_embedding(w: torch.Tensor, dim: int) -> torch.Tensor:
    """LCM's embedding of the guidance weight: sin/cos of 1000·w over `dim` log-spaced frequencies,
    `[B]` → `[B, dim]` (MotionLCM's time_cond input)."""
    half = dim // 2
    frequencies = torch.exp(torch.arange(half, dtype=torch.float32, device=w.device)
                            * -(math.log(10000.0) / (half - 1)))
    angles = (w.float() * 1000.0)[:, None] * frequencies[None, :]
    embedding = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return torch.nn.functional.pad(embedding, (0, dim % 2))
