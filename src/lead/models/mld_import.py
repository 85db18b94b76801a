"""Map a checkpoint of MLD's reference code (Chen et al., CVPR 2023) onto lead's modules.

lead's `mld` preset keeps MLD's module names (skip transformers with input/middle/output/linear
blocks, torch-named transformer layers, `global_motion_token`, `skel_embedding`,
`final_layer`, learned `query_pos*` tables, diffusers-style timestep embedding, `emb_proj`)
and MLD's token order, so the mapping is: take the `vae.` / `denoiser.` prefixes, drop the
unused `mem_pos` table, and cut MLD's 500-row positional tables to the rows lead uses.
MLD's VAE must be the `encoder_decoder` architecture (the one lead implements).
"""

from __future__ import annotations

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
