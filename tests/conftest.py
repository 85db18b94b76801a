"""Shared fixtures: real files only (tests/fixtures), built into tiny dataset/model folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiny_data import build_tiny_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A HumanML3D-format folder cut from the real reference clip (170 frames, 263-d).

    Twelve clips (windows of 44–120 frames), each with two captions; splits 8/2/2.
    """
    return build_tiny_dataset(tmp_path_factory.mktemp("tiny_dataset"))


@pytest.fixture(scope="session")
def tiny_model(tiny_dataset, tmp_path_factory) -> Path:
    """A tiny model trained for a few steps through the real `lead train` commands."""
    from lead.cli import main

    out = tmp_path_factory.mktemp("tiny_model")
    common = ["--data", str(tiny_dataset), "--out", str(out), "--preset", "tiny", "--batch-size", "4",
              "--lr", "1e-3", "--checkpoint-every", "5", "--log-every", "1"]
    assert main(["train", "vae", *common, "--max-steps", "6"]) == 0
    assert main(["train", "denoiser", *common, "--max-steps", "6"]) == 0
    assert main(["train", "projector", *common, "--max-steps", "6"]) == 0
    return out


# --- tiny randomly initialised text-encoder folders (CLIP, sentence-T5), in their published layouts ---
def _bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP's byte → printable-character table (so a char-level vocab covers every input)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


@pytest.fixture(scope="session")
def tiny_clip_folder(tmp_path_factory):
    """A CLIP text model folder (config, weights, tokenizer) with random weights and a char-level BPE vocab."""
    import json

    import torch
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


@pytest.fixture(scope="session")
def tiny_t5_folder(tmp_path_factory):
    """A sentence-transformers folder like sentence-t5-large, tiny and random: T5 encoder, a word-level
    fast tokenizer, mean pooling, a bias-free Dense 32→24, Normalize."""
    import json

    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    folder = tmp_path_factory.mktemp("tiny_t5")
    words = ["<pad>", "</s>", "<unk>", "a", "person", "walks", "forward", "someone", "waves", "both", "hands"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])  # as T5
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="</s>", model_max_length=64)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(words), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    T5EncoderModel(config).save_pretrained(folder)
    (folder / "2_Dense").mkdir()
    (folder / "2_Dense" / "config.json").write_text(json.dumps(
        {"in_features": 32, "out_features": 24, "bias": False,
         "activation_function": "torch.nn.modules.linear.Identity"}))
    save_file({"linear.weight": torch.randn(24, 32)}, str(folder / "2_Dense" / "model.safetensors"))
    (folder / "3_Normalize").mkdir()
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
        {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    return folder
