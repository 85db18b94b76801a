"""Text encoders: the real MiniLM, and CLIP through a tiny randomly initialised config + tokenizer."""

from __future__ import annotations

import json

import pytest
import torch

from lead.errors import LeadError
from lead.models.text import build_text_encoder


@pytest.fixture(scope="module")
def minilm():
    return build_text_encoder("minilm")


def _bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP's byte → printable-character table (so a char-level vocab covers every input)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


@pytest.fixture(scope="module")
def tiny_clip_folder(tmp_path_factory):
    """A CLIP text model folder (config, weights, tokenizer) with random weights and a char-level BPE vocab."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny_clip")
    symbols = _bytes_to_unicode()
    vocab = {}
    for symbol in symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(symbol, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tokenizer.save_pretrained(folder)
    config = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        max_position_embeddings=77, projection_dim=48, bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"],
    )
    torch.manual_seed(0)
    CLIPTextModelWithProjection(config).save_pretrained(folder)
    return folder


def test_minilm_pooled_tokens_and_mask(minilm):
    enc = minilm.encode(["a person walks forward", "someone waves", "a person walks forward"])
    assert enc.pooled.shape == (3, 384)
    assert enc.tokens.shape[:2] == enc.mask.shape and enc.tokens.shape[-1] == 384
    torch.testing.assert_close(enc.pooled.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(enc.pooled[0], enc.pooled[2])
    assert enc.mask[1].sum() < enc.mask[0].sum()  # the shorter caption is padded
    # Real semantics: walking is closer to walking than to waving.
    walk, run, wave = minilm.encode_pooled(["a man walks", "a person is walking", "someone waves a hand"])
    assert walk @ run > walk @ wave


def test_minilm_is_frozen_and_empty_text_is_fixed(minilm):
    assert not any(p.requires_grad for p in minilm.parameters())
    assert not minilm.model.training
    torch.testing.assert_close(minilm.empty(2), minilm.encode_pooled([""]).expand(2, -1))


def test_placeholder_gets_gradient_and_table_is_untouched(minilm):
    table = minilm.input_embeddings.weight.clone()
    init = minilm.add_placeholder("<wobbly>", init_word="old")
    vector = init.clone().requires_grad_(True)
    with minilm.placeholders({"<wobbly>": vector}):
        pooled = minilm.encode_pooled(["a person <wobbly> walks"])
    # Initialised from "old", the placeholder encodes exactly like the init word.
    torch.testing.assert_close(pooled.detach(), minilm.encode_pooled(["a person old walks"]), atol=1e-5, rtol=0)
    pooled.sum().backward()
    assert vector.grad is not None and vector.grad.norm() > 0
    assert torch.equal(minilm.input_embeddings.weight, table)
    with pytest.raises(LeadError, match="no concept"):
        minilm.encode(["a person <wobbly> walks"])


def test_clip_backend_from_a_local_folder(tiny_clip_folder):
    clip = build_text_encoder("clip", str(tiny_clip_folder))
    enc = clip.encode(["a person walks", "someone waves both hands"])
    assert clip.dim == 48 and enc.pooled.shape == (2, 48)
    assert enc.tokens.shape[-1] == 32
    assert not torch.allclose(enc.pooled[0], enc.pooled[1])
    vector = clip.add_placeholder("<stomp>", init_word="walk").requires_grad_(True)
    with clip.placeholders({"<stomp>": vector}):
        clip.encode_pooled(["a person <stomp>"]).sum().backward()
    assert vector.grad.norm() > 0
    assert clip.identity.startswith("clip:")


def test_clip_trains_and_generates_end_to_end(tiny_dataset, tiny_clip_folder, tmp_path):
    from lead.cli import main
    from lead.pipeline import TextToMotionPipeline

    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "4",
              "--max-steps", "2"]
    assert main(["train", "vae", *common]) == 0
    assert main(["train", "denoiser", *common, "--text-encoder", "clip",
                 "--text-encoder-path", str(tiny_clip_folder)]) == 0
    assert main(["train", "projector", *common]) == 0
    pipe = TextToMotionPipeline.from_pretrained(tmp_path)
    assert pipe.denoiser.config.text_dim == 48 == pipe.projector.config.text_dim
    out = pipe("a person walks", 40, num_inference_steps=3)
    assert out.features[0].shape == (40, 263)


def test_unknown_backend_and_missing_clip_folder():
    with pytest.raises(LeadError, match="unknown text encoder"):
        build_text_encoder("t5")
    with pytest.raises(LeadError, match="needs a folder"):
        build_text_encoder("clip")
    with pytest.raises(LeadError, match="not found"):
        build_text_encoder("clip", "/nonexistent/clip-folder")
