"""`lead serve`: a local web app around one `TextToMotionPipeline`.

    limits.py    what a request may ask for (text length, seconds, samples, queue, batch)
    schemas.py   the JSON request/response models of the API (OpenAPI at /docs)
    worker.py    one thread that merges queued requests into batches and runs the pipeline
    files.py     the files the server wrote, by id (npy now; BVH and mp4 on first download)
    concepts.py  uploaded concept files (lead invert), per page session
    guard.py     Host allow-list, Origin check and body bound, before any route
    app.py       the FastAPI routes, error answers and the static page (static/)
"""

from __future__ import annotations

from typing import Any

from lead.serve.limits import ServeLimits

__all__ = ["ServeLimits", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":  # imported on use, so `lead --help` does not load FastAPI and torch
        from lead.serve.app import create_app

        return create_app
    raise AttributeError(name)
