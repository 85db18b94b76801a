"""Write generated samples: features, joints, video, BVH and one samples.json manifest."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from lead import __version__
from lead.io import save_json, save_npy


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "motion"


LOCK = ".lead-generate.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def claim_output_folder(out: Path, overwrite: bool = False):
    """Hold `out` for one `lead generate` run: refuse a folder another live run is writing, or one that holds a
    finished run (samples.json or numbered samples) unless `overwrite` — then the old manifest and the files
    it lists go first, so the folder never shows an old manifest beside new motions. Only those: a file the
    manifest does not list (a user's 007_notes.txt) stays. A damaged manifest lists nothing, so then only the
    files named the way lead names samples (NNN_slug.npy, NNN_slug_joints.npy, .mp4, .gif, .bvh) go."""
    created = _create_folder(out)
    try:
        with _lock(out, overwrite):
            yield out
    except BaseException:
        # a rejected or failed run leaves no empty folder behind
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds while empty
        raise


def _create_folder(out: Path) -> list[Path]:
    """mkdir -p `out`; → the folders it created, deepest first."""
    from lead.errors import LeadError
    from lead.io import check_output

    check_output(out)
    missing = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:  # check_output has already refused a file in the way and a place that cannot be written
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LeadError(f"cannot create output folder {out}: {error.strerror}; choose another --out") from None
    return missing


@contextlib.contextmanager
def _lock(out: Path, overwrite: bool):
    from lead.errors import LeadError

    lock = out / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            pid = int(lock.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and _alive(pid):
            raise LeadError(f"another lead generate (pid {pid}) is writing into {out}; wait for it or choose "
                            "another --out") from None
        lock.unlink(missing_ok=True)  # a stale lock from a run that died
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        manifest = out / "samples.json"
        previous = sorted(out.glob("[0-9][0-9][0-9]_*"))
        if (manifest.exists() or previous) and not overwrite:
            raise LeadError(f"{out} already holds generated samples; pass --overwrite to replace them or choose "
                            "another --out")
        if overwrite:
            for path in _old_samples(out, manifest, previous):
                path.unlink()
            if manifest.is_file():
                manifest.unlink()
        yield out
    finally:
        lock.unlink(missing_ok=True)


_SAMPLE_NAME = re.compile(r"[0-9]{3}_[a-z0-9_]+(_joints\.npy|\.npy|\.mp4|\.gif|\.bvh)")


def _old_samples(out: Path, manifest: Path, numbered: list[Path]) -> list[Path]:
    """The files an `--overwrite` removes: those the old manifest lists (plain names, regular files in `out`),
    or, when there is no readable manifest, the numbered files named exactly as lead names its samples."""
    from lead.io import read_json

    listed: list[str] | None = None
    if manifest.is_file():
        with contextlib.suppress(Exception):  # damaged, foreign, not UTF-8: it lists nothing
            samples = read_json(manifest, "manifest")["samples"]
            listed = [name for entry in samples for name in entry["files"].values() if isinstance(name, str)]
    if listed is None:
        candidates = [path for path in numbered if _SAMPLE_NAME.fullmatch(path.name)]
    else:
        candidates = [out / name for name in listed if name and Path(name).name == name and name not in (".", "..")]
    return [path for path in dict.fromkeys(candidates) if path.is_file() and not path.is_symlink()]


def write_samples(out: Path, output, pipeline, video: str = "mp4", bvh: bool = True) -> Path:
    """Write every sample of `output` (a `MotionOutput`) under `out`; return the manifest path."""
    writer = SampleWriter(out, pipeline, video, bvh)
    with writer:
        writer.write(output)
    return writer.finish(output.settings)


class SampleWriter:
    """Writes samples as they are generated, so a long run holds one batch in memory and an interruption
    keeps what was finished.

    After every `write` the manifest lists exactly the complete samples beside it (each file with its
    SHA-256) with `"complete": false`; `finish` marks it complete. If a write fails or the run is stopped,
    the files of the sample being written are removed first — the folder never holds a file the manifest
    does not describe. Use as a context manager: leaving it by an exception records what was finished.
    """

    def __init__(self, out: Path, pipeline, video: str = "mp4", bvh: bool = True) -> None:
        self.out, self.pipeline, self.video, self.bvh = out, pipeline, video, bvh
        self.entries: list[dict] = []
        self.saved = 0  # entries the manifest on disk lists
        self.settings: dict = {}
        self.manifest = out / "samples.json"

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None and len(self.entries) > self.saved:
            with contextlib.suppress(Exception):  # the error that stopped the run is the one to report
                self._save(complete=False)

    def write(self, output, settings: dict | None = None) -> None:
        """Write the samples of `output` (a `MotionOutput`), numbered after those already written."""
        self.settings = settings if settings is not None else output.settings
        for text, length, seed, features, joints in zip(output.texts, output.lengths, output.seeds, output.features,
                                                        output.joints):
            self.entries.append(_write_sample(self.out, len(self.entries), text, length, seed, features, joints,
                                              self.settings, self.pipeline, self.video, self.bvh))
        self._save(complete=False)

    def finish(self, settings: dict | None = None) -> Path:
        if settings is not None:
            self.settings = settings
        self._save(complete=True)
        return self.manifest

    def _save(self, complete: bool) -> None:
        """Write the manifest; if it cannot be written (a full disk), the samples it would have listed go, so
        the folder never holds a sample file that no manifest lists."""
        try:
            self._write_manifest(complete)
        except BaseException:
            for entry in self.entries[self.saved:]:
                for file in entry["files"].values():
                    with contextlib.suppress(OSError):
                        (self.out / file).unlink(missing_ok=True)
            del self.entries[self.saved:]
            raise
        self.saved = len(self.entries)

    def _write_manifest(self, complete: bool) -> None:
        pipeline = self.pipeline
        save_json(self.manifest, {
            "lead_version": __version__,
            "model": {**pipeline.identity, "text_encoder": pipeline.text_encoder.identity},
            "settings": self.settings,
            "fps": pipeline.config.fps,
            "skeleton": pipeline.config.skeleton,
            "complete": complete,
            "samples": self.entries,
        })


def _write_sample(out: Path, index: int, text: str, length: int, seed: int, features, joints, settings: dict,
                  pipeline, video: str, bvh: bool) -> dict:
    """Write one sample's files; on any failure remove those already written. → its manifest entry."""
    name = f"{index:03d}_{_slug(text)}"
    files = {"features": f"{name}.npy", "joints": f"{name}_joints.npy"}
    if video != "none":
        files["video"] = f"{name}.{video}"
    if bvh:
        files["bvh"] = f"{name}.bvh"
    written: list[str] = []  # only these are removed on failure: a name in the way (a FIFO) is not ours
    try:
        save_npy(out / files["features"], features)
        written.append(files["features"])
        save_npy(out / files["joints"], joints)
        written.append(files["joints"])
        if video != "none":
            from lead.render.plot import render_motion

            title = f"{text}  [{'LEAD' if settings['use_projector'] else 'MLD'}, seed {seed}]"
            render_motion(joints, out / files["video"], title=title, skeleton=pipeline.config.skeleton)
            written.append(files["video"])
        if bvh:
            from lead.render.export import write_humanml3d_bvh

            write_humanml3d_bvh(out / files["bvh"], features, skeleton=pipeline.config.skeleton)
    except BaseException:
        for file in written:
            with contextlib.suppress(OSError):
                (out / file).unlink(missing_ok=True)
        raise
    return {"index": index, "text": text, "frames": length, "seconds": length / pipeline.config.fps,
            "seed": seed, "files": files, "sha256": {kind: _sha256(out / file) for kind, file in files.items()}}


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
