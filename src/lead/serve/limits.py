"""What one request may ask of the server; every bound a user can hit is named here with its reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeLimits:
    max_text_chars: int = 300  # a sentence or two; the text encoder truncates long texts anyway
    max_samples: int = 4  # samples per request (each is a LEAD and an MLD motion)
    max_steps: int = 100  # sampler steps; 50 (the default) already converges
    max_guidance: float = 20.0
    max_seed: int = 2**31 - 1
    max_queue: int = 64  # requests waiting (not running); past it a request is answered 503 busy
    max_batch: int = 32  # rows (prompt × sample) merged into one pipeline call; the pipeline's sweet spot
    max_generations: int = 500  # generations whose files stay downloadable; older ones are deleted
    max_upload_bytes: int = 4 * 1024 * 1024  # a concept file is a few kB of embedding plus metadata
    max_json_bytes: int = 64 * 1024  # any other body (a generate request is a few hundred bytes)
    max_sessions: int = 200  # pages that uploaded concepts; the least recently used is forgotten
    max_concepts_per_session: int = 16
