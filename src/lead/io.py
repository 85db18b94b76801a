"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import json
import os
import stat
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
    refuse_special_output(target)
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
        refuse_special_output(target)  # again: something may have appeared there while the block ran
        os.replace(tmp_path, target)
    except OSError as error:  # disk full, file-size limit, read-only: one line naming the file
        raise _write_error(target, error) from None
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)


def file_kind(mode: int) -> str:
    """What a `st_mode` is, in words: "a regular file", "a folder", "a FIFO (named pipe)", ..."""
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def refuse_special_output(target: str | os.PathLike) -> None:
    """Refuse an output path where something other than a regular file already is (a device node, a FIFO, a
    socket, a folder, or a link to one): renaming onto it would replace that thing (as root, `--out /dev/null`
    would replace the system's /dev/null) or block. A missing path or a regular file is fine."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return  # nothing there (or a dangling link, which the rename replaces): nothing to lose
    if not stat.S_ISREG(mode):
        raise LeadError(f"cannot write {target}: it is {file_kind(mode)}, not a regular file; "
                        "nothing was written there (give a file name that is free or a regular file)")


def check_regular_input(path: str | os.PathLike, what: str = "file") -> Path:
    """Refuse, before opening it, an input that is not a regular file: reading a FIFO blocks for ever, a device
    never ends, a folder cannot be read. A missing file is left to the caller's own "not found" line."""
    target = Path(path)
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return target
    if not stat.S_ISREG(mode):
        raise LeadError(f"{target}: {what} is {file_kind(mode)}, not a regular file; give a regular file")
    return target


def open_regular(path: str | os.PathLike, what: str = "file"):
    """Open `path` for binary reading only if it is a regular file (checked on the open descriptor, so a FIFO
    swapped in after a check cannot block the reader). Raises OSError as open() would for missing files."""
    target = Path(path)
    fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise LeadError(f"{target}: {what} is {file_kind(mode)}, not a regular file; give a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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
        with open_regular(target, what) as handle:
            data = handle.read()
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


def text_lines(text: str) -> list[str]:
    """The lines of a text file: split on "\n" only, each without a trailing "\r" (CRLF files). Unlike
    `str.splitlines`, a U+2028, a form feed or a lone "\r" inside a line does not split it."""
    lines = text.removeprefix("\ufeff").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


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
        with open_regular(target, what) as handle:
            if handle.read(6) != b"\x93NUMPY":
                raise LeadError(f"{target}: {what} is not a .npy file (it does not start with the NumPy header)")
            handle.seek(0)
            array = np.load(handle, allow_pickle=False)
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
    if kind == "file" and not target.is_dir():
        refuse_special_output(target)
    if target.exists():
        if kind == "folder" and not target.is_dir():
            what = "a file" if target.is_file() else file_kind(os.stat(target).st_mode)
            raise LeadError(f"{option} {target} is {what}, not a folder; choose another {option}")
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
