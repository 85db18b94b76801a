"""The VAE's "temporal" layout: latent token k holds frames [k·p, (k+1)·p) (p = frames_per_token).

encode: the motion is padded to S·p frames (S = latent_size = ceil(max_length / p)) by holding its last
pose, cut into S patches of p frames, each embedded by one linear layer (every frame of the patch with its
own weights, so the phase of a step survives), then a skip-transformer over the S tokens and two linear
heads give mu and logvar `[B, S, D]`. decode: the same kind of stack over the S latent tokens, then each
token emits 2p frames that overlap half of each neighbour's and are blended with a triangular window
(overlap-add), so the output has no steps at token boundaries; frames past each length are zero.

A clip shorter than max_length is encoded as the clip followed by its last pose held, so the latent is
always a whole `[S, D]` and the decoder can be asked for any length up to max_length.
"""

from __future__ import annotations

import torch
from torch import nn

from lead.models.layers import (
    LearnedPositionalEncoding,
    SkipTransformerEncoder,
    encoder_layer,
    lengths_to_mask,
    overlap_add,
    triangular_window,
)


class TemporalCodec(nn.Module):
    def __init__(self, config) -> None:
        super().__init__()
        self.config = config
        d, patch = config.latent_dim, config.frames_per_token
        needed = -(-config.max_length // patch)
        if config.latent_size != needed:
            raise ValueError(f"the temporal layout with frames_per_token {patch} and max_length "
                             f"{config.max_length} needs latent_size {needed}, got {config.latent_size}")
        self.patch_embedding = nn.Linear(config.feature_dim * patch, d)
        self.encoder_positions = LearnedPositionalEncoding(d, needed, init=config.position_init, step=patch)
        self.encoder = SkipTransformerEncoder(
            encoder_layer(d, config.num_heads, config.ff_size, config.dropout), config.num_layers, d)
        self.mu_head = nn.Linear(d, d)
        self.logvar_head = nn.Linear(d, d)
        self.decoder_positions = LearnedPositionalEncoding(d, needed, init=config.position_init, step=patch)
        self.decoder = SkipTransformerEncoder(
            encoder_layer(d, config.num_heads, config.ff_size, config.dropout), config.num_layers, d)
        self.final_layer = nn.Linear(d, config.feature_dim * 2 * patch)
        self.register_buffer("window", triangular_window(patch), persistent=False)

    def _hold_last_pose(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`[B, T, F]` → `[B, S·p, F]`: frames at and past each length replaced by its last frame."""
        frames = self.config.latent_size * self.config.frames_per_token
        index = torch.arange(frames, device=features.device)[None, :]
        index = torch.minimum(index, (lengths.to(features.device) - 1).clamp(min=0)[:, None])
        index = index.clamp(max=features.shape[1] - 1)
        return torch.gather(features, 1, index[..., None].expand(-1, -1, features.shape[-1]))

    def encode_distribution(self, features: torch.Tensor, lengths: torch.Tensor):
        """features `[B, T, F]`, lengths `[B]` → (mu, logvar) `[B, S, D]`."""
        batch = features.shape[0]
        held = self._hold_last_pose(features, lengths)
        tokens = held.reshape(batch, self.config.latent_size, -1)
        out = self.encoder(self.encoder_positions(self.patch_embedding(tokens)))
        return self.mu_head(out), self.logvar_head(out) + self.config.logvar_bias

    def decode(self, latent: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """latent `[B, S, D]`, lengths `[B]` → features `[B, max(lengths), F]` (zero past each length)."""
        batch, size = latent.shape[:2]
        frames = int(lengths.max())
        out = self.decoder(self.decoder_positions(latent))
        features = self._overlap_add(self.final_layer(out), size)[:, :frames]
        return features * lengths_to_mask(lengths, frames).unsqueeze(-1)

    def _overlap_add(self, windows: torch.Tensor, tokens: int) -> torch.Tensor:
        return overlap_add(windows, self.window, tokens, self.config.feature_dim)
