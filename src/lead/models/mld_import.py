"""Map a checkpoint of MLD's reference code (Chen et al., CVPR 2023) onto lead's modules.

lead's `mld` preset keeps MLD's module names (skip transformers with input/middle/output/linear
blocks, torch-named transformer layers, `global_motion_token`, `skel_embedding`,
`final_layer`, learned `query_pos*` tables, diffusers-style timestep embedding, `emb_proj`)
and MLD's token order, so the mapping is: take the `vae.` / `denoiser.` prefixes, drop the
unused `mem_pos` table, and cut MLD's 500-row positional tables to the rows lead uses.
MLD's VAE must be the `encoder_decoder` architecture (the one lead implements).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from lead.errors import LeadError

POSITION_TABLES = ("query_pos_encoder.pe", "query_pos_decoder.pe", "query_pos.pe")
DROPPED = ("mem_pos.pe",)


def split_mld_state_dict(state: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """`{"vae": ..., "denoiser": ...}` from an MLD Lightning checkpoint's `state_dict`."""
    parts: dict[str, dict[str, torch.Tensor]] = {"vae": {}, "denoiser": {}}
    for key, value in state.items():
        prefix, _, rest = key.partition(".")
        if prefix in parts and rest not in DROPPED:
            parts[prefix][rest] = value
    if not parts["vae"] or not parts["denoiser"]:
        raise LeadError("not an MLD checkpoint: expected keys starting with 'vae.' and 'denoiser.'")
    return parts


def load_mld_weights(module: torch.nn.Module, mld_state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """Load one MLD component's weights (already split) into the matching lead module, strictly."""
    own = module.state_dict()
    converted = {}
    for key, value in mld_state.items():
        if key in POSITION_TABLES and key in own:
            rows = own[key].shape[0]
            if value.shape[0] < rows:
                raise LeadError(f"MLD table {key} has {value.shape[0]} rows, lead needs {rows}")
            value = value[:rows]
        converted[key] = value
    missing = sorted(set(own) - set(converted))
    unexpected = sorted(set(converted) - set(own))
    if missing or unexpected:
        raise LeadError(f"MLD weights do not match: missing {missing[:4]}, unexpected {unexpected[:4]}")
    module.load_state_dict(converted, strict=True)
    return module


def _skip_layers(state: dict[str, torch.Tensor], prefix: str) -> int:
    """Layers of a skip transformer from its keys: 2·(input blocks) + 1."""
    blocks = {key.split(".")[2] for key in state if key.startswith(f"{prefix}.input_blocks.")}
    return 2 * len(blocks) + 1


def configs_from_checkpoint(parts: dict[str, dict[str, torch.Tensor]]):
    """(VAEConfig, DenoiserConfig) of an MLD / MotionLCM checkpoint, read from its tensor shapes: MLD's
    `mld` preset with the checkpoint's latent size, feature width, text width, depth and, for MotionLCM,
    the guidance-embedding width of `time_embedding.cond_proj`."""
    from lead.models.denoiser import DenoiserConfig
    from lead.models.vae import VAEConfig

    vae, den = parts["vae"], parts["denoiser"]
    try:
        tokens, latent_dim = vae["global_motion_token"].shape[0], vae["global_motion_token"].shape[-1]
        feature_dim = vae["skel_embedding.weight"].shape[1]
        text_dim = den["time_embedding.linear_1.weight"].shape[1]
    except KeyError as error:
        raise LeadError(f"not an MLD-layout checkpoint: {error.args[0]} missing (lead imports MLD's "
                        "encoder_decoder VAE and trans_enc denoiser)") from None
    vae_config = dataclasses.replace(
        VAEConfig.preset("mld"), latent_size=tokens // 2, latent_dim=latent_dim, feature_dim=feature_dim,
        num_layers=_skip_layers(vae, "encoder"), ff_size=vae["encoder.middle_block.linear1.weight"].shape[0])
    cond = den.get("time_embedding.cond_proj.weight")
    den_config = dataclasses.replace(
        DenoiserConfig.preset("mld"), latent_size=tokens // 2, latent_dim=latent_dim, text_dim=text_dim,
        num_layers=_skip_layers(den, "encoder"), ff_size=den["encoder.middle_block.linear1.weight"].shape[0],
        guidance_embedding_dim=int(cond.shape[1]) if cond is not None else 0,
        condition_dropout=0.0 if cond is not None else 0.1)
    return vae_config, den_config


def import_checkpoint(checkpoint: str | Path, data: str | Path, out: str | Path, text_encoder: str,
                      text_encoder_path: str | None, expected: str | None = None) -> Path:
    """An MLD (`denoiser/`) or MotionLCM (`lcm/`: its denoiser has a guidance embedding) Lightning
    checkpoint + the dataset folder it was trained on (Mean.npy/Std.npy) + its text encoder's folder →
    a lead model folder. MLD and MotionLCM sample their latents unscaled (latent scale 1). `expected`
    ("mld" / "motionlcm") refuses the other kind before anything is written."""
    from lead.io import save_json
    from lead.models.bundle import BundleConfig, write_bundle_config
    from lead.models.denoiser import LatentDenoiser
    from lead.models.text import build_text_encoder
    from lead.models.vae import MotionVAE
    from lead.motion.features import Normalizer

    checkpoint, out = Path(checkpoint), Path(out)
    if not checkpoint.is_file():
        raise LeadError(f"checkpoint {checkpoint} not found")
    if out.exists() and any(out.iterdir()):
        raise LeadError(f"{out} is not empty; choose a new --out folder")
    try:  # a Lightning checkpoint pickles its hyper-parameters: only load files you trust
        raw = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises several types for a file that is not a checkpoint
        raise LeadError(f"{checkpoint} is not a readable PyTorch checkpoint ({error})") from error
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise LeadError(f"{checkpoint} holds no state_dict")
    parts = split_mld_state_dict(state)
    vae_config, den_config = configs_from_checkpoint(parts)
    found = "motionlcm" if den_config.guidance_embedding_dim else "mld"
    if expected is not None and found != expected:
        raise LeadError(f"{checkpoint} is {'a MotionLCM' if found == 'motionlcm' else 'an MLD'} checkpoint "
                        f"(its denoiser {'has' if found == 'motionlcm' else 'has no'} time_embedding.cond_proj); "
                        f"use `lead import {found}`")
    normalizer = Normalizer.from_dataset(data)
    if normalizer.dim != vae_config.feature_dim:
        raise LeadError(f"{data} has {normalizer.dim}-d features but the checkpoint's VAE {vae_config.feature_dim}-d")
    encoder = build_text_encoder(text_encoder, text_encoder_path)
    if encoder.dim != den_config.text_dim:
        raise LeadError(f"the checkpoint's denoiser takes {den_config.text_dim}-d text embeddings but "
                        f"{text_encoder} at {text_encoder_path} gives {encoder.dim}-d: give its own text encoder")
    vae = load_mld_weights(MotionVAE(vae_config), parts["vae"])
    denoiser = load_mld_weights(LatentDenoiser(den_config), parts["denoiser"])
    out.mkdir(parents=True, exist_ok=True)
    vae.save(out / "vae")
    component = "lcm" if den_config.guidance_embedding_dim else "denoiser"
    denoiser.save(out / component)
    normalizer.save(out)
    skeleton = {263: "humanml3d", 251: "kit"}.get(normalizer.dim, "humanml3d")
    write_bundle_config(out, BundleConfig(
        text_encoder=text_encoder, text_encoder_path=text_encoder_path, text_encoder_identity=encoder.identity,
        skeleton=skeleton, latent_scale=1.0, dataset=Path(data).name,
        license="inherited from the checkpoint and its training data",
        notes={"imported_from": str(checkpoint.resolve()), "format": "motionlcm" if component == "lcm" else "mld"}))
    save_json(out / "import.json", {"checkpoint": str(checkpoint.resolve()), "component": component,
                                    "vae": dataclasses.asdict(vae_config), "denoiser": dataclasses.asdict(den_config)})
    return out

