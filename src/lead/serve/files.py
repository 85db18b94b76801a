"""The files the server wrote, by id. A download looks an id up in this map and nothing else, so no
request can name a path. Features and joints (.npy) are written when a motion is generated; BVH and mp4
are written from them on their first download (a video takes seconds to render)."""

from __future__ import annotations

import collections
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lead.errors import LeadError
from lead.io import save_npy

KINDS = {  # kind → (suffix, media type)
    "npy": ("npy", "application/octet-stream"),
    "joints": ("joints.npy", "application/octet-stream"),
    "bvh": ("bvh", "text/plain"),
    "mp4": ("mp4", "video/mp4"),
}
_ID = re.compile(r"^[a-z0-9]{12}-\d{1,2}-[a-z]{2,8}-(npy|joints|bvh|mp4)$")


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "motion"


@dataclass
class StoredFile:
    path: Path
    media_type: str
    download_name: str
    build: Callable[[Path], None] | None  # writes `path` on first download; None: already written
    lock: threading.Lock


class FileStore:
    """Generations under `root/<generation id>/`, at most `max_generations` (the oldest are deleted)."""

    def __init__(self, root: Path, skeleton: str, fps: int, max_generations: int = 500) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.skeleton = skeleton
        self.fps = fps
        self.max_generations = max_generations
        self._files: dict[str, StoredFile] = {}
        self._generations: collections.OrderedDict[str, list[str]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()  # matplotlib renders one video at a time

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(6)

    def add(self, generation: str, text: str, samples: list[dict], seeds: list[int]) -> list[dict[str, dict]]:
        """Write each sample's variants ({"lead": Motion, ...}); return per sample {variant: {kind: file id}}."""
        folder = self.root / generation
        links, ids = [], []
        for index, (variants, seed) in enumerate(zip(samples, seeds)):
            entry = {}
            for variant, motion in variants.items():
                stem = f"{index}-{variant}"
                base = f"{_slug(text)}_{variant}_seed{seed}"
                features_path = folder / f"{stem}.npy"
                save_npy(features_path, motion.features)
                save_npy(folder / f"{stem}.joints.npy", motion.joints)
                title = f"{text}  [{variant.upper()}, seed {seed}]"
                builders = {"npy": None, "joints": None, "bvh": self._bvh_builder(features_path),
                            "mp4": self._video_builder(folder / f"{stem}.joints.npy", title)}
                entry[variant] = {}
                for kind, build in builders.items():
                    suffix, media = KINDS[kind]
                    file_id = f"{generation}-{stem}-{kind}"
                    stored = StoredFile(folder / f"{stem}.{suffix}", media, f"{base}.{suffix}", build, threading.Lock())
                    with self._lock:
                        self._files[file_id] = stored
                    entry[variant][kind] = file_id
                    ids.append(file_id)
            links.append(entry)
        with self._lock:
            self._generations[generation] = ids
            expired = []
            while len(self._generations) > self.max_generations:
                old, old_ids = self._generations.popitem(last=False)
                for file_id in old_ids:
                    self._files.pop(file_id, None)
                expired.append(old)
        for old in expired:
            shutil.rmtree(self.root / old, ignore_errors=True)
        return links

    def _bvh_builder(self, features_path: Path) -> Callable[[Path], None]:
        def build(target: Path) -> None:
            from lead.render.export import write_humanml3d_bvh

            write_humanml3d_bvh(target, np.load(features_path), skeleton=self.skeleton, fps=self.fps)

        return build

    def _video_builder(self, joints_path: Path, title: str) -> Callable[[Path], None]:
        def build(target: Path) -> None:
            from lead.render.plot import render_motion

            with self._render_lock:
                render_motion(np.load(joints_path), target, title=title, skeleton=self.skeleton, fps=self.fps)

        return build

    def get(self, file_id: str) -> StoredFile:
        """The file of `file_id`, written first if it is a lazy one; KeyError if the server never wrote it."""
        if not _ID.match(file_id):
            raise KeyError(file_id)
        with self._lock:
            stored = self._files[file_id]
        with stored.lock:
            if stored.build is not None and not stored.path.is_file():
                stored.build(stored.path)
            if not stored.path.is_file():
                raise LeadError(f"the file {file_id} could not be written")
        return stored
