"""A learned concept: one placeholder word and its input embedding v*, saved as safetensors.

File layout: one tensor ``embedding`` `[D_in]` (float32, the text encoder's input-embedding width)
and string metadata: ``format`` ("lead-concept"), ``token``, ``text_encoder_identity``, ``init_word``,
``objective``, ``steps``, ``lr``, ``batch_size``, ``seed``, ``examples`` (JSON list of file names),
``lead_version``, ``model`` (JSON: the model identity it was learned on), ``losses`` (JSON list of
the per-step training losses) and ``objective_before`` / ``objective_after`` (the objective on fixed
held-out draws with the init word's vector and with v*; empty when not measured).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lead.errors import LeadError

FORMAT = "lead-concept"
REQUIRED = ("token", "text_encoder_identity")


@dataclass
class Concept:
    """A placeholder `token` (e.g. "<elderly>") and its learned input embedding `[D_in]`."""

    token: str
    embedding: torch.Tensor
    text_encoder_identity: str
    init_word: str = ""
    objective: str = ""
    steps: int = 0
    lr: float = 0.0
    batch_size: int = 0
    seed: int = 0
    examples: list[str] = field(default_factory=list)
    lead_version: str = ""
    model: dict = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    objective_before: float | None = None
    objective_after: float | None = None

    def metadata(self) -> dict[str, str]:
        return {
            "format": FORMAT,
            "token": self.token,
            "text_encoder_identity": self.text_encoder_identity,
            "init_word": self.init_word,
            "objective": self.objective,
            "steps": str(self.steps),
            "lr": repr(float(self.lr)),
            "batch_size": str(self.batch_size),
            "seed": str(self.seed),
            "examples": json.dumps(list(self.examples)),
            "lead_version": self.lead_version,
            "model": json.dumps(self.model, sort_keys=True),
            "losses": json.dumps([round(float(x), 6) for x in self.losses]),
            "objective_before": "" if self.objective_before is None else repr(float(self.objective_before)),
            "objective_after": "" if self.objective_after is None else repr(float(self.objective_after)),
        }


def save_concept(path: str | os.PathLike, concept: Concept) -> Path:
    """Write `concept` to `path` atomically (temp file + rename)."""
    from safetensors.torch import save_file

    from lead.io import atomic_path

    embedding = concept.embedding.detach().to("cpu", torch.float32).reshape(-1).contiguous()
    if not torch.isfinite(embedding).all():
        raise LeadError(f"concept {concept.token}: the learned embedding is not finite; lower --lr and retry")
    target = Path(path)
    with atomic_path(target) as tmp:
        save_file({"embedding": embedding}, str(tmp), metadata=concept.metadata())
    return target


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_field(metadata: dict[str, str], key: str, default, path: Path):
    """A JSON metadata field, of the type of `default` (a list of strings for `examples`, of numbers for
    `losses`, an object for `model`); anything else is one line naming the field, never a TypeError."""
    if key not in metadata:
        return default
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError as error:
        raise LeadError(f"concept {path}: metadata field {key!r} is not valid JSON ({error})") from None
    except RecursionError:  # "[[[[...]]]]" 100,000 deep
        raise LeadError(f"concept {path}: metadata field {key!r} is nested too deeply to be what lead invert "
                        "writes") from None
    expected = {"examples": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                             "a list of file names"),
                "losses": (lambda v: isinstance(v, list) and all(_is_number(x) for x in v), "a list of numbers"),
                "model": (lambda v: isinstance(v, dict), "a JSON object")}.get(key)
    if expected is not None and not expected[0](value):
        raise LeadError(f"concept {path}: metadata field {key!r} must be {expected[1]}, got "
                        f"{json.dumps(value)[:60]}; re-run lead invert")
    return value


def _number(metadata: dict[str, str], key: str, kind, path: Path):
    try:
        return kind(metadata.get(key, 0))
    except ValueError:
        raise LeadError(f"concept {path}: metadata field {key!r}={metadata[key]!r} is not a number") from None


def _optional(metadata: dict[str, str], key: str, path: Path) -> float | None:
    return _number(metadata, key, float, path) if metadata.get(key) else None


def load_concept(path: str | os.PathLike) -> Concept:
    """Read a concept file written by `save_concept` (or `lead invert`)."""
    from safetensors import safe_open

    from lead.io import check_regular_input

    path = check_regular_input(path, "concept file")
    if not path.is_file():
        raise LeadError(f"concept file {path} not found; learn one with `lead invert MOTION ... --out {path.name}`")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            keys = set(handle.keys())
            embedding = handle.get_tensor("embedding") if "embedding" in keys else None
    except Exception as error:  # safetensors raises several types for a damaged or foreign file
        raise LeadError(f"concept {path} is not a readable safetensors file ({error}); re-run lead invert") from None
    if metadata.get("format") != FORMAT:
        raise LeadError(f"{path} is not a lead concept file (metadata format={metadata.get('format')!r})")
    if embedding is None:
        raise LeadError(f"concept {path} has no 'embedding' tensor; re-run lead invert")
    if embedding.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):  # e.g. F8_E4M3
        raise LeadError(f"concept {path}: 'embedding' is {str(embedding.dtype).removeprefix('torch.')}, expected "
                        "float32 (or float16/bfloat16/float64); re-run lead invert")
    if embedding.dim() != 1 or not embedding.is_floating_point() or not torch.isfinite(embedding).all():
        raise LeadError(f"concept {path}: 'embedding' must be a finite 1-D float vector, got {tuple(embedding.shape)}")
    missing = [key for key in REQUIRED if not metadata.get(key)]
    if missing:
        raise LeadError(f"concept {path} lacks metadata {missing}; re-run lead invert")
    return Concept(
        token=metadata["token"],
        embedding=embedding.to(torch.float32),
        text_encoder_identity=metadata["text_encoder_identity"],
        init_word=metadata.get("init_word", ""),
        objective=metadata.get("objective", ""),
        steps=_number(metadata, "steps", int, path),
        lr=_number(metadata, "lr", float, path),
        batch_size=_number(metadata, "batch_size", int, path),
        seed=_number(metadata, "seed", int, path),
        examples=list(_json_field(metadata, "examples", [], path)),
        lead_version=metadata.get("lead_version", ""),
        model=dict(_json_field(metadata, "model", {}, path)),
        losses=[float(x) for x in _json_field(metadata, "losses", [], path)],
        objective_before=_optional(metadata, "objective_before", path),
        objective_after=_optional(metadata, "objective_after", path),
    )
