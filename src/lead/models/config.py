"""Component configs: one frozen dataclass per module, saved as `config.json` beside the weights."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file, save_file

from lead.errors import LeadError
from lead.io import atomic_path, check_regular_input, save_json

T = TypeVar("T")


def config_from_dict(cls: type[T], data: dict[str, Any], source: str = "config") -> T:
    """`cls(**data)` after checking every field: known, of the declared type, sizes not negative."""
    if not isinstance(data, dict):
        raise LeadError(f"{source}: 'config' must be a JSON object of {cls.__name__} fields, got "
                        f"{_json_type(data)}; re-export the model")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise LeadError(f"{source}: unknown fields {sorted(unknown)} for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in data.items():
        values[name] = _checked_value(hints[name], value, f"{source}: field {name!r}")
        if isinstance(values[name], int) and not isinstance(values[name], bool) and values[name] < 0 \
                and _is_size(name):
            raise LeadError(f"{source}: field {name!r} is a size and must be >= 0, got {values[name]}")
    try:
        return cls(**values)
    except (ValueError, TypeError, AssertionError) as error:
        raise LeadError(f"{source}: {error}") from None


_SIZE_WORDS = ("dim", "size", "num_", "length", "layers", "heads", "frames")


def _is_size(name: str) -> bool:
    return any(word in name for word in _SIZE_WORDS)


def _json_type(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
             float: "a number", type(None): "null"}
    return f"{kinds.get(type(value), type(value).__name__)} ({json.dumps(value)[:40]})"


def _checked_value(hint: Any, value: Any, where: str) -> Any:
    """`value` if it fits the type `hint` (lists become tuples); a LeadError naming `where` otherwise."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        for option in (a for a in arguments if a is not type(None)):
            with contextlib.suppress(LeadError):
                return _checked_value(option, value, where)
    elif hint is Any:
        return value
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin is tuple or hint is tuple:
        if isinstance(value, (list, tuple)):
            inner = arguments[0] if arguments else Any
            return tuple(_checked_value(inner, item, where) for item in value)
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            return value
    else:
        return value  # a type this checker does not know: the constructor checks it
    expected = getattr(hint, "__name__", None) or str(hint)
    raise LeadError(f"{where} must be {expected}, got {_json_type(value)}; fix or re-export the model")


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
    from lead.io import read_json

    if not check_regular_input(path, "config.json").is_file():
        raise LeadError(f"{path} not found: {missing_hint}")
    data = read_json(path, "config.json", "re-export the model")
    if not isinstance(data, dict):
        raise LeadError(f"{path}: expected a JSON object {{\"kind\": ..., \"config\": {{...}}}}, got "
                        f"{_json_type(data)}; re-export the model")
    if data.get("kind") != kind:
        raise LeadError(f"{path} describes a {data.get('kind')!r}, expected a {kind!r} config")
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise LeadError(f"{path}: 'config' must be a JSON object, got {_json_type(config)}; re-export the model")
    return config


def read_component_config(folder: str | Path, cls: type[T], kind: str) -> T:
    path = Path(folder) / "config.json"
    data = read_kind_json(path, kind, "a model component folder holds config.json and model.safetensors")
    return config_from_dict(cls, data, str(path))


def load_weights(folder: str | Path, module: torch.nn.Module) -> torch.nn.Module:
    """Load `folder/model.safetensors` into `module` strictly, in the module's dtype."""
    path = check_regular_input(Path(folder) / "model.safetensors", "weights file")
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
        config = read_component_config(folder, cls.config_class, cls.kind)
        try:
            module = cls(config)
        except (ValueError, TypeError, AssertionError, RuntimeError) as error:  # e.g. num_heads not dividing
            raise LeadError(f"{Path(folder) / 'config.json'}: cannot build the {cls.kind} from this config "
                            f"({error}); fix or re-export the model") from None
        return load_weights(folder, module)
