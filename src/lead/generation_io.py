"""Write generated samples: features, joints, video, BVH and one samples.json manifest."""

from __future__ import annotations

import contextlib
import json
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
    it lists go first, so the folder never shows an old manifest beside new motions."""
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
            listed = []
            if manifest.exists():
                # a damaged or foreign samples.json lists nothing: only it and the numbered samples go
                with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
                    listed = [str(f) for entry in json.loads(manifest.read_text(encoding="utf-8"))["samples"]
                              for f in entry["files"].values()]
                manifest.unlink()
            for path in {*(out / name for name in listed), *previous}:
                if path.is_file() and path.parent == out:
                    path.unlink()
        yield out
    finally:
        lock.unlink(missing_ok=True)


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
        self.settings: dict = {}
        self.manifest = out / "samples.json"

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None and self.entries:
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
    try:
        save_npy(out / files["features"], features)
        save_npy(out / files["joints"], joints)
        if video != "none":
            from lead.render.plot import render_motion

            title = f"{text}  [{'LEAD' if settings['use_projector'] else 'MLD'}, seed {seed}]"
            render_motion(joints, out / files["video"], title=title, skeleton=pipeline.config.skeleton)
        if bvh:
            from lead.render.export import write_humanml3d_bvh

            write_humanml3d_bvh(out / files["bvh"], features, skeleton=pipeline.config.skeleton)
    except BaseException:
        for file in files.values():
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
