"""The one-token attention shortcuts (lead.models.layers) give torch's own layers' outputs, and the empty-text
embedding is encoded once."""

from __future__ import annotations

import pytest
import torch

from lead.models.layers import decoder_block, decoder_layer, encoder_block, encoder_layer
from lead.models.projector import LatentProjector, ProjectorConfig
from lead.models.vae import MotionVAE, VAEConfig


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


@pytest.mark.parametrize("grad", [False, True])
def test_encoder_block_on_one_token_matches_the_layer(grad):
    layer = encoder_layer(64, 4, 128, 0.1).eval()
    x = torch.randn(3, 1, 64)
    with torch.set_grad_enabled(grad):
        torch.testing.assert_close(encoder_block(layer, x), layer(x), atol=1e-6, rtol=0)
    longer = torch.randn(2, 5, 64)
    torch.testing.assert_close(encoder_block(layer, longer), layer(longer), atol=0, rtol=0)


def test_decoder_block_with_one_memory_token_matches_the_layer():
    layer = decoder_layer(64, 4, 128, 0.1).eval()
    queries, memory = torch.randn(2, 30, 64), torch.randn(2, 1, 64)
    padding = torch.arange(30)[None] >= torch.tensor([30, 17])[:, None]
    with torch.no_grad():
        expected = layer(queries, memory, tgt_key_padding_mask=padding)
        torch.testing.assert_close(decoder_block(layer, queries, memory, padding), expected, atol=1e-6, rtol=0)
        torch.testing.assert_close(decoder_block(layer, queries, memory), layer(queries, memory), atol=1e-6, rtol=0)


def test_training_mode_takes_the_layer_itself():
    """Dropout acts on the attention weight 1, so a training layer is never short-cut."""
    layer = encoder_layer(64, 4, 128, 0.5).train()
    x = torch.randn(3, 1, 64)
    torch.manual_seed(1)
    expected = layer(x)
    torch.manual_seed(1)
    torch.testing.assert_close(encoder_block(layer, x), expected, atol=0, rtol=0)


def test_mld_sized_projector_and_vae_decoder_match_torch_layers():
    """MLD's one-token latent through the projector's transformer and the VAE decoder's stack, against the
    torch modules' own forward."""
    projector = LatentProjector(ProjectorConfig.preset("tiny", latent_size=1)).eval()
    vae = MotionVAE(VAEConfig.preset("tiny")).eval()
    z = torch.randn(2, 1, 32)
    queries = vae.query_pos_decoder(torch.zeros(2, 40, 32))
    padding = torch.arange(40)[None] >= torch.tensor([40, 23])[:, None]
    with torch.no_grad():
        branch = projector.encoder
        expected = branch.output(branch.body(branch.position(branch.input(z))))
        torch.testing.assert_close(projector.encode(z), expected, atol=1e-6, rtol=0)
        expected = vae.decoder._run(queries, lambda block, h: block(h, z, tgt_key_padding_mask=padding))
        torch.testing.assert_close(vae.decoder(queries, z, tgt_key_padding_mask=padding), expected, atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def minilm():
    from lead.models.text import build_text_encoder

    return build_text_encoder("minilm")


def test_empty_text_is_encoded_once_and_usable_for_training(minilm):
    with torch.inference_mode():
        first = minilm.empty(1)
    assert not first.is_inference()  # a later training step may save it for backward
    assert minilm.empty(3).data_ptr() == first.data_ptr()
    torch.testing.assert_close(minilm.empty(3), minilm.encode_pooled([""]).expand(3, -1))
