"""Turning motions into things to look at: `plot` (stick-figure mp4/gif videos).

`render_motion` and `render_grid` are importable from here; matplotlib loads on first use only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_grid", "render_motion"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lead.render import plot

        return getattr(plot, name)
    raise AttributeError(f"module 'lead.render' has no attribute {name!r}")
