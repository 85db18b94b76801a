"""Text encoders: the real MiniLM, and CLIP through a tiny randomly initialised config + tokenizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lead.errors import LeadError
from lead.models.text import build_text_encoder


@pytest.fixture(scope="module")
def minilm():
    return build_text_encoder("minilm")


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
        build_text_encoder("word2vec")
    with pytest.raises(LeadError, match="needs a folder"):
        build_text_encoder("clip")
    with pytest.raises(LeadError, match="not found"):
        build_text_encoder("clip", "/nonexistent/clip-folder")


def test_sentence_t5_is_mean_pool_dense_normalize(tiny_t5_folder):
    """The pooled embedding is exactly SentenceTransformer's: mean of the encoder states over real tokens,
    the Dense projection, L2 normalisation (checked against the T5 encoder run by hand)."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, T5EncoderModel

    t5 = build_text_encoder("t5", str(tiny_t5_folder))
    texts = ["a person walks forward", "someone waves"]
    enc = t5.encode(texts)
    assert t5.dim == 24 and enc.pooled.shape == (2, 24) and t5.identity.startswith("t5:")
    model = T5EncoderModel.from_pretrained(tiny_t5_folder).eval()
    batch = AutoTokenizer.from_pretrained(tiny_t5_folder)(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    dense = load_file(str(tiny_t5_folder / "2_Dense" / "model.safetensors"))["linear.weight"]
    expected = torch.nn.functional.normalize(((states * mask).sum(1) / mask.sum(1)) @ dense.T, dim=-1)
    torch.testing.assert_close(enc.pooled, expected, atol=1e-5, rtol=1e-5)
    vector = t5.add_placeholder("<stomp>", init_word="walks").requires_grad_(True)
    with t5.placeholders({"<stomp>": vector}):
        t5.encode_pooled(["a person <stomp>"]).sum().backward()
    assert vector.grad is not None and vector.grad.abs().sum() > 0


def test_sentence_t5_trains_lcm_and_generates_end_to_end(tiny_dataset, tiny_t5_folder, tmp_path):
    """MotionLCM's text side: VAE, denoiser on sentence-T5 embeddings, projector, LCM distillation, then
    1-step and 4-step generation with and without the projector."""
    from lead.cli import main
    from lead.pipeline import TextToMotionPipeline

    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "4",
              "--max-steps", "2"]
    assert main(["train", "vae", *common]) == 0
    assert main(["train", "denoiser", *common, "--text-encoder", "t5", "--text-encoder-path", str(tiny_t5_folder)]) == 0
    assert main(["train", "projector", *common]) == 0
    assert main(["train", "lcm", *common]) == 0
    pipe = TextToMotionPipeline.from_pretrained(tmp_path)
    assert pipe.denoiser.config.text_dim == 24 == pipe.lcm.config.text_dim
    for steps in (1, 4):
        for projector in (True, False):
            out = pipe("a person walks forward", 40, sampler="lcm", num_inference_steps=steps,
                       use_projector=projector)
            assert out.features[0].shape == (40, 263) and np.isfinite(out.features[0]).all()


def test_minilm_runs_bert_in_plain_torch_equal_to_transformers(minilm):
    """lead.models.text.bert (no transformers modelling code at start-up) gives BertModel's hidden states."""
    from transformers import AutoModel

    reference = AutoModel.from_pretrained(minilm.path).eval()
    batch = minilm.tokenize(["a person walks forward happily", "someone waves", ""])
    with torch.no_grad():
        expected = reference(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        ours = minilm.model(batch["input_ids"], batch["attention_mask"])
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(ours[real], expected[real], atol=2e-5, rtol=1e-4)


def test_minilm_tokenizer_matches_transformers_with_placeholders(minilm):
    """lead.models.text.fast_tokenizer (the tokenizers library alone) tokenizes as transformers' AutoTokenizer,
    placeholders (added special tokens) and truncation included."""
    from transformers import AutoTokenizer

    from lead.models.text.fast_tokenizer import FastTokenizer

    reference, ours = AutoTokenizer.from_pretrained(minilm.path), FastTokenizer(minilm.path)
    texts = ["a person walks forward happily", "", "Someone waves!! café  naïve", "x " * 200,
             "a person <Stomp> walks", "a person <stomp> walks", "<stomp>walks"]
    for tokenizer in (reference, ours):
        tokenizer.add_tokens(["<Stomp>"], special_tokens=True)
    expected = reference(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    got = ours(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    for key in ("input_ids", "attention_mask"):
        assert torch.equal(got[key], expected[key]), key
    for word in ("walk", "<Stomp>", "old", "[CLS]"):
        plain = {"add_special_tokens": False}
        assert ours(word, **plain)["input_ids"] == reference(word, **plain)["input_ids"], word
    assert ours.convert_tokens_to_ids("<Stomp>") == reference.convert_tokens_to_ids("<Stomp>")
    assert ours.unk_token_id == reference.unk_token_id
