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


def read_json(path: str | os.PathLike, what: str = "file", hint: str = "") -> Any:
    """Parse a UTF-8 JSON file; a broken one is refused with one line naming it (and `hint`, what to do)."""
    target = Path(path)
    text = read_text(target, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise LeadError(f"{target}:{error.lineno}: {what} is not valid JSON ({error.msg})"
                        + (f"; {hint}" if hint else "")) from None


def load_array(path: str | os.PathLike, what: str = "array", ndim: int | None = None) -> np.ndarray:
    """A numeric .npy array, read without pickle: text, a pickled object array, strings, a truncated file
    or the wrong number of dimensions are refused with one line naming the file and what was found."""
    target = Path(path)
    try:
        with open(target, "rb") as handle:
            if handle.read(6) != b"\x93NUMPY":
                raise LeadError(f"{target}: {what} is not a .npy file (it does not start with the NumPy header)")
        array = np.load(target, allow_pickle=False)
    except FileNotFoundError:
        raise LeadError(f"{target}: {what} not found") from None
    except OSError as error:
        raise LeadError(f"cannot read {what} {target}: {error.strerror or error}") from None
    except ValueError as error:
        reason = "holds pickled Python objects" if "pickle" in str(error) else f"is damaged ({error})"
        raise LeadError(f"{target}: {what} {reason}; expected a numeric array") from None
    except EOFError:
        raise LeadError(f"{target}: {what} is cut short") from None
    if not isinstance(array, np.ndarray) or not (np.issubdtype(array.dtype, np.number)
                                                 or array.dtype == np.bool_):
        raise LeadError(f"{target}: {what} holds {getattr(array, 'dtype', type(array).__name__)} values, "
                        "expected numbers")
    if ndim is not None and array.ndim != ndim:
        raise LeadError(f"{target}: {what} has shape {array.shape}, expected {ndim} dimension(s)")
    return array


def check_output(path: str | os.PathLike, kind: str = "folder", option: str = "--out") -> Path:
    """Refuse, before any work and without creating anything, an output `path` that cannot be written:
    a file where a folder is wanted (or the reverse), or a place under a read-only or missing-permission
    folder. `kind` is "folder" or "file"."""
    target = Path(path)
    if target.exists():
        if kind == "folder" and not target.is_dir():
            raise LeadError(f"{option} {target} is a file, not a folder; choose another {option}")
        if kind == "file" and target.is_dir():
            raise LeadError(f"{option} {target} is a folder; give a file name")
    existing = target if kind == "folder" and target.is_dir() else target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise LeadError(f"{option} {target}: {existing} is a file, so nothing can be written under it")
    try:  # try it: permission bits say nothing for root, and nothing of read-only mounts
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise LeadError(f"{option} {target}: cannot write in {existing} ({error.strerror or error}); "
                        f"choose another {option}") from None
    return target
