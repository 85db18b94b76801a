"""Component configs: one frozen dataclass per module, saved as `config.json` beside the weights."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file, save_file

from lead.errors import LeadError
from lead.io import atomic_path, save_json

T = TypeVar("T")


def config_from_dict(cls: type[T], data: dict[str, Any], source: str = "config") -> T:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise LeadError(f"{source}: unknown fields {sorted(unknown)} for {cls.__name__}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)


def choose_preset(presets: dict[str, T], name: str, overrides: dict[str, Any]) -> T:
    """`presets[name]` with `overrides` applied (a ValueError names the known presets)."""
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(presets)}")
    return dataclasses.replace(presets[name], **overrides)


def save_component(folder: str | Path, module: torch.nn.Module, config: Any, kind: str,
                   dtype: torch.dtype | None = None) -> Path:
    """Write `folder/config.json` ({"kind", "config"}) and `folder/model.safetensors` atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {}
    for key, value in module.state_dict().items():
        value = value.detach().cpu()
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        state[key] = value.contiguous()
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    save_json(folder / "config.json", {"kind": kind, "config": dataclasses.asdict(config)})
    return folder


def read_kind_json(path: Path, kind: str, missing_hint: str) -> dict[str, Any]:
    """The `config` object of a `{"kind": ..., "config": {...}}` file, checking its kind."""
    if not path.is_file():
        raise LeadError(f"{path} not found: {missing_hint}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise LeadError(f"{path} is not valid JSON ({error}); re-export the model") from error
    if data.get("kind") != kind:
        raise LeadError(f"{path} describes a {data.get('kind')!r}, expected a {kind!r} config")
    return data.get("config", {})


def read_component_config(folder: str | Path, cls: type[T], kind: str) -> T:
    path = Path(folder) / "config.json"
    data = read_kind_json(path, kind, "a model component folder holds config.json and model.safetensors")
    return config_from_dict(cls, data, str(path))


def load_weights(folder: str | Path, module: torch.nn.Module) -> torch.nn.Module:
    """Load `folder/model.safetensors` into `module` strictly, in the module's dtype."""
    path = Path(folder) / "model.safetensors"
    if not path.is_file():
        raise LeadError(f"{path} not found: the component folder is incomplete")
    try:
        state = load_file(str(path))
    except Exception as error:  # safetensors raises several types for a damaged file
        raise LeadError(f"{path} is not a readable safetensors file ({error}); re-download or retrain") from error
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shapes = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or extra or shapes:
        raise LeadError(
            f"{path} does not match its config.json: missing {missing[:3]}, unexpected {extra[:3]}, "
            f"wrong shape {shapes[:3]}"
        )
    # Weights may be stored in fp16 to keep the shipped model small; compute in the module's dtype.
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)
    return module


class Component:
    """Mixin for a network that is a model component: `kind` names it in `config.json`, `config_class`
    is its config dataclass, and the instance holds `self.config`; save/load are then shared."""

    kind: str
    config_class: type

    def save(self, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
        return save_component(folder, self, self.config, self.kind, dtype)

    @classmethod
    def load(cls, folder: str | Path):
        return load_weights(folder, cls(read_component_config(folder, cls.config_class, cls.kind)))
