"""MLD checkpoints map onto the `mld` preset by key names alone.

The MLD-side names below are written out from MLD's published module definitions
(mld_vae.py, mld_denoiser.py, operator/cross_attention.py, position_encoding.py), so the
test fails if lead's module tree drifts away from them.
"""

from __future__ import annotations

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
