"""MLD checkpoints map onto the `mld` preset by key names alone.

The MLD-side names below are written out from MLD's published module definitions
(mld_vae.py, mld_denoiser.py, operator/cross_attention.py, position_encoding.py), so the
test fails if lead's module tree drifts away from them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lead.errors import LeadError
from lead.models.denoiser import DenoiserConfig, LatentDenoiser
from lead.models.mld_import import load_mld_weights, split_mld_state_dict
from lead.models.vae import MotionVAE, VAEConfig


def _mld_layer_keys(prefix: str, decoder: bool) -> list[str]:
    keys = ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
            "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
            "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
    if decoder:
        keys += ["multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight",
                 "multihead_attn.out_proj.bias", "norm3.weight", "norm3.bias"]
    return [f"{prefix}.{k}" for k in keys]


def _mld_skip_keys(prefix: str, layers: int, decoder: bool) -> list[str]:
    half = (layers - 1) // 2
    keys = []
    for i in range(half):
        keys += _mld_layer_keys(f"{prefix}.input_blocks.{i}", decoder)
        keys += _mld_layer_keys(f"{prefix}.output_blocks.{i}", decoder)
        keys += [f"{prefix}.linear_blocks.{i}.weight", f"{prefix}.linear_blocks.{i}.bias"]
    keys += _mld_layer_keys(f"{prefix}.middle_block", decoder)
    return keys + [f"{prefix}.norm.weight", f"{prefix}.norm.bias"]


def test_lead_mld_preset_has_exactly_mlds_key_names():
    vae = MotionVAE(VAEConfig.preset("mld"))
    denoiser = LatentDenoiser(DenoiserConfig.preset("mld"))
    mld_vae = (["global_motion_token", "skel_embedding.weight", "skel_embedding.bias", "final_layer.weight",
                "final_layer.bias", "query_pos_encoder.pe", "query_pos_decoder.pe"]
               + _mld_skip_keys("encoder", 9, False) + _mld_skip_keys("decoder", 9, True))
    mld_denoiser = (["time_embedding.linear_1.weight", "time_embedding.linear_1.bias",
                     "time_embedding.linear_2.weight", "time_embedding.linear_2.bias", "emb_proj.1.weight",
                     "emb_proj.1.bias", "query_pos.pe"] + _mld_skip_keys("encoder", 9, False))
    assert sorted(vae.state_dict()) == sorted(mld_vae)
    assert sorted(denoiser.state_dict()) == sorted(mld_denoiser)


def test_an_mld_shaped_checkpoint_loads_and_runs():
    """Build a checkpoint the way MLD stores it (prefixes, 500-row tables, mem_pos) and import it."""
    torch.manual_seed(0)
    source_vae = MotionVAE(VAEConfig.preset("mld"))
    source_denoiser = LatentDenoiser(DenoiserConfig.preset("mld"))
    checkpoint = {}
    for prefix, module in (("vae", source_vae), ("denoiser", source_denoiser)):
        for key, value in module.state_dict().items():
            if key.endswith("pe"):  # MLD's PositionEmbeddingLearned1D has max_len 500
                value = torch.cat([value, torch.randn(500 - value.shape[0], *value.shape[1:])])
            checkpoint[f"{prefix}.{key}"] = value
    checkpoint["denoiser.mem_pos.pe"] = torch.randn(500, 1, 256)
    checkpoint["text_encoder.something"] = torch.zeros(1)
    parts = split_mld_state_dict(checkpoint)
    vae = load_mld_weights(MotionVAE(VAEConfig.preset("mld")), parts["vae"]).eval()
    denoiser = load_mld_weights(LatentDenoiser(DenoiserConfig.preset("mld")), parts["denoiser"]).eval()
    features, lengths = torch.randn(2, 40, 263), torch.tensor([40, 32])
    with torch.no_grad():
        torch.testing.assert_close(vae.encode(features, lengths, sample=False)[0],
                                   source_vae.eval().encode(features, lengths, sample=False)[0])
        latent, t, text = torch.randn(2, 1, 256), torch.tensor([10]), torch.randn(2, 768)
        torch.testing.assert_close(denoiser(latent, t, text), source_denoiser.eval()(latent, t, text))


def test_wrong_checkpoints_are_clear_errors():
    with pytest.raises(LeadError, match="not an MLD checkpoint"):
        split_mld_state_dict({"model.weight": torch.zeros(1)})
    with pytest.raises(LeadError, match="do not match"):
        load_mld_weights(MotionVAE(VAEConfig.preset("tiny")), {"skel_embedding.weight": torch.zeros(32, 263)})


def _mld_checkpoint(text_dim: int, guidance_dim: int = 0, seed: int = 0):
    """An MLD/MotionLCM-layout Lightning checkpoint (prefixes, 500-row tables, mem_pos, text encoder keys)
    with random weights, and the source modules it came from."""
    import dataclasses

    torch.manual_seed(seed)
    source_vae = MotionVAE(VAEConfig.preset("mld")).eval()
    config = dataclasses.replace(DenoiserConfig.preset("mld"), text_dim=text_dim, guidance_embedding_dim=guidance_dim)
    source_denoiser = LatentDenoiser(config).eval()
    if guidance_dim:  # a trained student's guidance projection is not zero
        torch.nn.init.normal_(source_denoiser.time_embedding.cond_proj.weight, std=0.05)
    state = {}
    for prefix, module in (("vae", source_vae), ("denoiser", source_denoiser)):
        for key, value in module.state_dict().items():
            if key.endswith("pe"):
                value = torch.cat([value, torch.randn(500 - value.shape[0], *value.shape[1:])])
            state[f"{prefix}.{key}"] = value
    state["denoiser.mem_pos.pe"] = torch.randn(500, 1, 256)
    state["text_encoder.text_model.dummy"] = torch.zeros(1)
    return {"state_dict": state, "hyper_parameters": {"cfg": "omitted"}}, source_vae, source_denoiser


@pytest.mark.parametrize("kind", ["mld", "motionlcm"])
def test_lead_import_writes_a_model_that_generates_like_its_source(kind, tmp_path, tiny_dataset, tiny_clip_folder,
                                                                    tiny_t5_folder):
    """`lead import mld|motionlcm CKPT` → a model folder; its VAE and denoiser give the source modules'
    outputs, `lead generate` runs on it (DDIM for MLD, --sampler lcm for MotionLCM, whose cond_proj key is
    MotionLCM's `time_embedding.cond_proj.weight`), and LEAD's projector trains on top."""
    import json

    from lead.cli import main
    from lead.pipeline import TextToMotionPipeline

    folder, backend = (tiny_clip_folder, "clip") if kind == "mld" else (tiny_t5_folder, "t5")
    from lead.models.text import build_text_encoder

    width = build_text_encoder(backend, str(folder)).dim
    checkpoint, source_vae, source_denoiser = _mld_checkpoint(width, 256 if kind == "motionlcm" else 0)
    if kind == "motionlcm":
        assert "denoiser.time_embedding.cond_proj.weight" in checkpoint["state_dict"]
    path = tmp_path / f"{kind}.ckpt"
    torch.save(checkpoint, path)
    model = tmp_path / "model"
    assert main(["import", kind, str(path), "--data", str(tiny_dataset), "--text-encoder-path", str(folder),
                 "--out", str(model)]) == 0
    component = "lcm" if kind == "motionlcm" else "denoiser"
    assert (model / component).is_dir() and not (model / ("denoiser" if kind == "motionlcm" else "lcm")).exists()
    assert json.loads((model / "config.json").read_text())["config"]["latent_scale"] == 1.0
    pipe = TextToMotionPipeline.from_pretrained(model)
    network = pipe.lcm if kind == "motionlcm" else pipe.denoiser
    latent, t, text = torch.randn(2, 1, 256), torch.tensor([10]), torch.randn(2, width)
    w = torch.tensor([6.5, 6.5]) if kind == "motionlcm" else None
    with torch.no_grad():
        kwargs = {"guidance": w} if w is not None else {}
        torch.testing.assert_close(network(latent, t, text, **kwargs), source_denoiser(latent, t, text, **kwargs))
        torch.testing.assert_close(pipe.vae.decode(latent, torch.tensor([40, 30])),
                                   source_vae.decode(latent, torch.tensor([40, 30])))
    sampler = ["--sampler", "lcm", "--steps", "1"] if kind == "motionlcm" else ["--steps", "3"]
    out = tmp_path / "generated"
    assert main(["generate", "a person walks forward", "--model", str(model), "--frames", "40", *sampler,
                 "--no-projector", "--format", "none", "--no-bvh", "--out", str(out)]) == 0
    assert np.load(out / json.loads((out / "samples.json").read_text())["samples"][0]["files"]["features"]).shape == (
        40, 263)
    assert main(["train", "projector", "--data", str(tiny_dataset), "--out", str(model), "--preset", "mld",
                 "--batch-size", "4", "--max-steps", "2"]) == 0
    assert TextToMotionPipeline.from_pretrained(model).projector is not None
    if kind == "mld":  # and the T2M protocol runs on it, MLD and LEAD rows (a random 8-d evaluator, 12 test items)
        _eval_t2m(model, tiny_dataset, tmp_path)


def _eval_t2m(model, tiny_dataset, tmp_path):
    import json
    import shutil

    from lead.cli import main
    from lead.evaluation.evaluator import EvaluatorConfig, T2MEvaluator
    from lead.evaluation.word_vectorizer import MiniLMWordVectors, WordVectorizer

    data = tmp_path / "eval_data"
    shutil.copytree(tiny_dataset, data)
    clips = sorted(p.stem for p in (data / "new_joint_vecs").glob("*.npy"))
    (data / "test.txt").write_text("\n".join(clips) + "\n")
    config = EvaluatorConfig(dim_word=384, dim_movement_enc_hidden=16, dim_movement_latent=16,
                             dim_motion_hidden=16, dim_text_hidden=16, dim_coemb_hidden=8)
    evaluator = tmp_path / "evaluator"
    T2MEvaluator(config, np.load(data / "Mean.npy"), np.load(data / "Std.npy"), WordVectorizer(MiniLMWordVectors()),
                 seed=1).save(evaluator, extra={"training": {"min_length": 40}})
    out = tmp_path / "t2m"
    assert main(["eval", "t2m", "--data", str(data), "--model", str(model), "--evaluator", str(evaluator),
                 "--out", str(out), "--replications", "1", "--steps", "3", "--batch-size", "8", "--mm-texts", "0",
                 "--padding", "mld"]) == 0
    report = json.loads((out / "t2m.json").read_text())
    assert {"MLD", "LEAD"} <= set(report["replications"][0]["rows"])
    assert all(np.isfinite(row["fid"]) for row in report["replications"][0]["rows"].values())


def test_import_refuses_the_other_format_before_writing(tmp_path, tiny_dataset, tiny_clip_folder, capsys):
    from lead.cli import main

    checkpoint, _, _ = _mld_checkpoint(48)
    path = tmp_path / "mld.ckpt"
    torch.save(checkpoint, path)
    code = main(["import", "motionlcm", str(path), "--data", str(tiny_dataset), "--text-encoder", "clip",
                 "--text-encoder-path", str(tiny_clip_folder), "--out", str(tmp_path / "model")])
    assert code == 2 and "lead import mld" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    assert main(["import", "mld", str(tmp_path / "junk.ckpt"), "--data", str(tiny_dataset), "--text-encoder-path",
                 str(tiny_clip_folder), "--out", str(tmp_path / "m2")]) == 2
