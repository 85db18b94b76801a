"""The case table of scripts/hostile_inputs.py (issue 13): one module per group of commands."""

from __future__ import annotations

import socket
from pathlib import Path

from hostile.cases import Case
from hostile.generation import generate_cases, invert_cases, render_cases, serve_cases
from hostile.training import data_cases, eval_cases, import_cases, train_cases

_BUSY: list[socket.socket] = []  # a port held open for the sweep's "--port in use" case


def busy_port() -> int:
    if not _BUSY:
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        _BUSY.append(holder)
    return _BUSY[0].getsockname()[1]


def build_cases(ws: Path) -> list[Case]:
    """Every case, each with its own folder under ws/cases/."""
    cases = [*generate_cases(ws), *render_cases(ws), *invert_cases(ws), *serve_cases(ws, busy_port()),
             *data_cases(ws), *train_cases(ws), *eval_cases(ws), *import_cases(ws)]
    names = set()
    for index, case in enumerate(cases):
        key = (case.command, case.name)
        if key in names:
            raise ValueError(f"two cases named {case.command}: {case.name}")
        names.add(key)
        case.folder = str(ws / "cases" / f"{index:03d}")
    return cases
