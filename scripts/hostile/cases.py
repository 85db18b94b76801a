"""The case table of scripts/hostile_inputs.py and the tiny workspace it runs against.

Imports numpy and safetensors only (no torch): the sweep's parent process stays light; anything that needs torch
runs as a case in the preloaded forkserver (`prepare_workspace`)."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
REFERENCE = FIXTURES / "humanml3d-reference"
BVH = FIXTURES / "01_01.bvh"
DEFAULT_MODEL = ROOT / "src" / "lead" / "assets" / "default"
CAPTIONS = ["a person walks forward", "someone waves with the right hand", "a man raises both hands",
            "a person turns left while walking", "a person jumps up", "someone kicks with the left leg"]

Setup = Callable[[Path], None]


@dataclass
class Case:
    command: str  # the summary row: "generate", "eval t2m", ...
    name: str
    argv: list[str]  # run in the case folder: relative paths are the case's own files
    expect: str  # "fail", "ok" or "any" (either, but a refusal must be one clear line)
    setup: Setup | None = None
    contains: str | None = None  # text the error line must hold
    timeout: float = 180.0
    as_nobody: bool = False  # run as uid 65534: permission bits mean nothing to root
    after_chown: Setup | None = None  # with as_nobody: runs after the folder is given to nobody (chmod here)
    env: dict = field(default_factory=dict)
    interrupt: tuple[signal.Signals, float] | None = None  # a real subprocess, sent this signal after N s
    signal_after: tuple[signal.Signals, float] | None = None  # a valid run stopped by a signal (serve)
    weight: float = 1.0  # heavy cases start first
    known: str = ""  # a failure whose fix lies in a file this sweep's author could not change: why
    folder: str = ""

    @property
    def stopped(self) -> bool:
        return self.signal_after is not None

    def whole_files(self, folder: Path, added: list[str]) -> list[str]:
        """After an interruption: every file a run wrote is whole (listed in its manifest with its hash, or a
        finished video); nothing else is left."""
        import hashlib

        problems = []
        manifests = [folder / path for path in added if path.endswith("samples.json")]
        listed: dict[str, str] = {}
        for manifest in manifests:
            data = json.loads(manifest.read_text())
            for sample in data["samples"]:
                for kind, name in sample["files"].items():
                    listed[str((manifest.parent / name).relative_to(folder))] = sample["sha256"][kind]
        for path in added:
            target = folder / path
            if target.is_dir() or path.endswith("samples.json") or path in self.inputs:
                continue
            if path not in listed:
                problems.append(f"left {path}, which no manifest lists")
            elif hashlib.sha256(target.read_bytes()).hexdigest() != listed[path]:
                problems.append(f"{path} differs from its manifest's hash (half-written)")
        return problems

    @property
    def inputs(self) -> set[str]:
        return set()


# --- the workspace: tiny dataset, model, evaluator, concept, checkpoint -------------------------------------
def make_dataset(root: Path, clips: int = 72, splits: tuple[int, int, int] = (32, 8, 32)) -> Path:
    """A HumanML3D-format folder cut from the real reference clip: tests/tiny_data.py's builder, larger."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lead_tests_tiny_data", ROOT / "tests" / "tiny_data.py")
    tiny_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny_data)
    return tiny_data.build_tiny_dataset(root, clips, splits, CAPTIONS)


CHECKPOINT_SCRIPT = '''
import sys, torch
from safetensors.torch import load_file
model, out = sys.argv[1], sys.argv[2]
state = {f"{part}.{key}": value for part in ("vae", "denoiser")
         for key, value in load_file(f"{model}/{part}/model.safetensors").items()}
torch.save({"state_dict": state, "hyper_parameters": {}}, out)
'''


def prepare_workspace(ws: Path, run: Callable[[Case], dict]) -> None:
    """Build ws/data, ws/model (tiny, trained by `lead train`), ws/evaluator, ws/concept.safetensors and
    ws/mld.ckpt through the real commands; refuse to go on if one fails."""
    if not (ws / "data").is_dir():
        make_dataset(ws / "data")
    features = np.load(REFERENCE / "new_joint_vecs" / "012314.npy")
    np.save(ws / "walk.npy", features[:60])
    np.save(ws / "walk_joints.npy", np.load(REFERENCE / "new_joints" / "012314.npy")[:60])
    (ws / "make_ckpt.py").write_text(CHECKPOINT_SCRIPT)
    common = ["--data", str(ws / "data"), "--out", str(ws / "model"), "--preset", "tiny", "--batch-size", "4",
              "--max-steps", "2", "--log-every", "1"]
    steps = []
    if not (ws / "model" / "projector").is_dir():
        steps += [["train", stage, *common] for stage in ("vae", "denoiser", "projector")]
    if not (ws / "evaluator" / "model.safetensors").is_file():
        steps.append(["train", "evaluator", "--data", str(ws / "data"), "--out", str(ws / "evaluator"), "--preset",
                      "tiny", "--epochs", "1", "--ae-epochs", "0", "--max-steps", "1", "--batch-size", "4",
                      "--replications", "0"])
    if not (ws / "concept.safetensors").is_file():
        steps.append(["invert", str(ws / "walk.npy"), "--token", "<hx>", "--init-word", "walk", "--steps", "1",
                      "--batch-size", "1", "--quiet", "--out", str(ws / "concept.safetensors")])
    if not (ws / "mld.ckpt").is_file():
        steps.append(["script", str(ws / "make_ckpt.py"), str(ws / "model"), str(ws / "mld.ckpt")])
    for index, argv in enumerate(steps):
        case = Case("setup", " ".join(argv[:2]), argv, "ok", timeout=600, folder=str(ws / "setup" / str(index)))
        result = run(case)
        if result["problems"]:
            raise SystemExit(f"workspace step `lead {' '.join(argv)}` failed: {result['problems']}\n"
                             f"{result['stderr'][-3000:]}")


# --- helpers that build a case's inputs ---------------------------------------------------------------------
def write(name: str, content: str | bytes) -> Setup:
    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return setup


def array(name: str, value) -> Setup:
    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, np.ndarray) and value.dtype == object:
            np.save(path, value, allow_pickle=True)
        else:
            np.save(path, value)
    return setup


def mkdir(name: str) -> Setup:
    return lambda folder: (folder / name).mkdir(parents=True, exist_ok=True)


def fifo(name: str) -> Setup:
    """A FIFO (named pipe) at `name`, replacing what is there: reading it would block for ever (issue 28)."""
    import os

    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    return setup


def copy(source: Path, name: str) -> Setup:
    def setup(folder: Path) -> None:
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, folder / name)
    return setup


def chain(*steps: Setup | None) -> Setup:
    def setup(folder: Path) -> None:
        for step in steps:
            if step is not None:
                step(folder)
    return setup


def edit_json(name: str, change: Callable[[dict], object]) -> Setup:
    def setup(folder: Path) -> None:
        path = folder / name
        data = json.loads(path.read_text())
        result = change(data)
        path.write_text(json.dumps(data if result is None else result))
    return setup


def set_field(name: str, key: str, value) -> Setup:
    return edit_json(name, lambda data: data["config"].__setitem__(key, value))


def drop_field(name: str, key: str) -> Setup:
    return edit_json(name, lambda data: data["config"].pop(key))


def remove(name: str) -> Setup:
    def setup(folder: Path) -> None:
        path = folder / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return setup


def truncate(name: str, keep: int) -> Setup:
    def setup(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes()[:keep])
    return setup


def concept(name: str, width: int = 384, token: str = "<hx>", identity: str = "minilm:all-MiniLM-L6-v2",
            values=None, fmt: str = "lead-concept", tensor: str = "embedding") -> Setup:
    def setup(folder: Path) -> None:
        from safetensors.numpy import save_file

        embedding = np.asarray(values if values is not None else np.full(width, 0.01), dtype=np.float32)
        metadata = {"format": fmt, "token": token, "text_encoder_identity": identity, "init_word": "walk"}
        save_file({tensor: embedding}, str(folder / name), metadata=metadata)
    return setup


def bvh_text(frames: int | None = None, motion: str | None = None, keep_motion: bool = True) -> bytes:
    """01_01.bvh with its motion section replaced: `frames` lines of it, or a given motion text."""
    text = BVH.read_text()
    hierarchy, _, rest = text.partition("MOTION")
    if not keep_motion:
        return hierarchy.encode()
    lines = rest.strip().splitlines()
    body = lines[2:]
    if motion is not None:
        return f"{hierarchy}MOTION\n{motion}".encode()
    count = len(body) if frames is None else frames
    return (f"{hierarchy}MOTION\nFrames: {count}\n{lines[1]}\n" + "\n".join(body[:count]) + "\n").encode()


def short_bvh() -> bytes:
    """01_01.bvh cut to its first 240 frames (2 s at 120 fps): a fast, valid import."""
    return bvh_text(240)
