"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lead.errors import LeadError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds.

    `suffix` defaults to the target's suffix so that writers which pick a format from the
    extension (ffmpeg, matplotlib, numpy) behave the same.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=suffix if suffix is not None else target.suffix, dir=target.parent
        )
    except OSError as error:
        raise _write_error(target, error) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the output the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    except OSError as error:  # disk full, file-size limit, read-only: one line naming the file
        raise _write_error(target, error) from None
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)


def _write_error(target: Path, error: OSError) -> LeadError:
    reason = error.strerror or str(error)
    return LeadError(f"cannot write {target}: {reason}; nothing was written there")


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.asarray(array))


def save_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_json(path: str | os.PathLike, data: Any) -> None:
    save_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """The text of a UTF-8 file (a BOM is dropped); a file that is not UTF-8 text (binary, Latin-1, ...)
    is refused with one line naming the file, the line and the byte."""
    target = Path(path)
    try:
        data = target.read_bytes()
    except OSError as error:
        raise LeadError(f"cannot read {what} {target}: {error.strerror or error}") from None
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise LeadError(f"{target}:{line}: {what} holds binary data (a NUL byte), not UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise LeadError(f"{target}:{line}: {what} is not UTF-8 text (byte 0x{data[offset]:02x}); "
                        "save it as UTF-8") from None
