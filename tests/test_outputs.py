"""Outputs that don't lie (issue 15): a failed external write is an error and replaces nothing, SIGTERM cleans
up like Ctrl-C, a failed run leaves no partial sample and no empty folder. Real commands in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lead.cli import main

FEATURES = Path(__file__).parent / "fixtures" / "humanml3d-reference" / "new_joint_vecs" / "012314.npy"
OLD = b"an earlier, complete video"


def lead(*args: str, cwd: Path, env: dict | None = None, limit_kb: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_kb * 1024, limit_kb * 1024))

    return subprocess.run([sys.executable, "-m", "lead.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, preexec_fn=limit if limit_kb else None, timeout=300)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.replace("\r", "\n").splitlines() if line.startswith("lead: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


@pytest.fixture
def motion(tmp_path) -> Path:
    path = tmp_path / "walk.npy"
    np.save(path, np.load(FEATURES)[:40])
    return path


def fake_ffmpeg(folder: Path, status: int, writes: bool) -> str:
    """An ffmpeg stand-in that fails (non-zero exit) or 'succeeds' with a file that is not an MP4."""
    script = folder / f"ffmpeg_{status}_{int(writes)}"
    output = 'for last; do :; done; printf "not a video" > "$last"\n' if writes else ""
    script.write_text(f"#!/bin/sh\ncat > /dev/null\n{output}echo 'encoder exploded' >&2\nexit {status}\n")
    script.chmod(0o755)
    return str(script)


def in_process_error_line(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("lead: error:")]
    assert "Traceback" not in err and len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize("case", ["mp4 file-size limit", "gif file-size limit", "ffmpeg exits 1",
                                  "ffmpeg exits 0 with a broken file"])
def test_a_failed_video_write_is_an_error_and_replaces_nothing(tmp_path, motion, case, monkeypatch, capsys):
    suffix = ".gif" if case.startswith("gif") else ".mp4"
    target = tmp_path / f"walk{suffix}"
    target.write_bytes(OLD)
    argv = ("render", str(motion), "--out", str(target))
    if "limit" in case:  # the motion .npy is read, the video (~90 KB) cannot be written
        line = one_error_line(lead(*argv, cwd=tmp_path, limit_kb=60))
    else:
        monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", fake_ffmpeg(tmp_path, 1 if "exits 1" in case else 0,
                                                             "broken" in case))
        line = in_process_error_line(capsys, *argv)
    assert f"cannot write {target}" in line and "nothing was written" in line
    if case == "ffmpeg exits 1":
        assert "encoder exploded" in line
    assert target.read_bytes() == OLD
    assert leftovers(tmp_path) == []


def test_a_failed_video_write_fails_generate_leaving_no_partial_sample_or_empty_folder(tmp_path, monkeypatch,
                                                                                        capsys):
    out = tmp_path / "new" / "run"
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", fake_ffmpeg(tmp_path, 1, False))
    line = in_process_error_line(capsys, "generate", "a person walks", "--frames", "20", "--steps", "2",
                                 "--out", str(out))
    assert "ffmpeg failed" in line
    assert not (tmp_path / "new").exists()  # the folders it created are gone again, nothing half-written


def _listed_files_are_exactly_the_folder(out: Path) -> dict:
    import hashlib

    manifest = json.loads((out / "samples.json").read_text())
    listed = {name for sample in manifest["samples"] for name in sample["files"].values()}
    assert listed == {path.name for path in out.iterdir()} - {"samples.json"}
    for sample in manifest["samples"]:
        for kind, name in sample["files"].items():
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == sample["sha256"][kind]
    return manifest


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 4 samples, so a few samples make several batches (the default is 32)."""
    from lead import defaults

    monkeypatch.setattr(defaults, "BATCH_SIZE", 4)


def test_generate_streams_batch_by_batch_with_the_same_motions(tmp_path, small_batches):
    from lead.pipeline import TextToMotionPipeline

    out = tmp_path / "run"
    assert main(["generate", "a person walks", "--frames", "20", "--steps", "2", "--num-samples", "5",
                 "--seed", "4", "--format", "none", "--no-bvh", "--out", str(out)]) == 0
    manifest = _listed_files_are_exactly_the_folder(out)
    assert manifest["complete"] is True and len(manifest["samples"]) == 5  # two batches: 4 + 1
    assert manifest["settings"]["seed"] == 4 and manifest["settings"]["num_samples"] == 5
    assert [sample["seed"] for sample in manifest["samples"]] == list(range(4, 9))
    # sample i of the streamed run is the pipeline's motion for seed 4 + i
    pipeline = TextToMotionPipeline.from_pretrained()
    for index in (0, 4):
        reference = pipeline("a person walks", 20, seed=4 + index, num_inference_steps=2).features[0]
        saved = np.load(out / manifest["samples"][index]["files"]["features"])
        np.testing.assert_allclose(saved, reference, atol=1e-5)


def test_sigterm_during_generate_leaves_a_manifest_of_exactly_the_finished_samples(tmp_path, small_batches,
                                                                                     monkeypatch, capsys):
    from lead.generation_io import SampleWriter

    write = SampleWriter.write

    def write_then_terminate(self, *args, **kwargs):  # SIGTERM arrives right after the first batch
        write(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(SampleWriter, "write", write_then_terminate)
    out = tmp_path / "run"
    assert main(["generate", "a person walks", "--frames", "20", "--steps", "2", "--num-samples", "10",
                 "--format", "none", "--out", str(out)]) == 128 + signal.SIGTERM
    assert "lead: terminated" in capsys.readouterr().err
    manifest = _listed_files_are_exactly_the_folder(out)
    assert manifest["complete"] is False and len(manifest["samples"]) == 4
    assert leftovers(out) == []  # no temporary file, no lock


def test_a_rejected_generate_leaves_no_folder(tmp_path, capsys):
    concept = tmp_path / "broken.safetensors"
    concept.write_bytes(b"not a concept")  # refused only once the model has loaded and --out exists
    out = tmp_path / "a" / "b"
    assert main(["generate", "a person walks", "--concept", str(concept), "--out", str(out)]) == 2
    assert "broken.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    assert main(["generate", "a person walks", "--concept", str(tmp_path / "missing.safetensors"),
                 "--out", str(out)]) == 2  # a missing file is refused before the model loads
    assert "--concept" in capsys.readouterr().err and not (tmp_path / "a").exists()


def test_sigterm_during_a_long_render_removes_the_temporary_file(tmp_path):
    long = tmp_path / "long.npy"
    np.save(long, np.concatenate([np.load(FEATURES)] * 6))  # 1020 frames: tens of seconds to render
    target = tmp_path / "long.mp4"
    process = subprocess.Popen([sys.executable, "-m", "lead.cli", "render", str(long), "--out", str(target)],
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not leftovers(tmp_path) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert leftovers(tmp_path), "the render never started writing"
    time.sleep(0.5)  # well inside the frame loop
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and "lead: terminated" in stderr
    assert leftovers(tmp_path) == [] and not target.exists()


@pytest.mark.parametrize("fps", ["inf", "nan", "0", "-1", "1e9"])
def test_render_refuses_an_fps_out_of_range(tmp_path, motion, fps, capsys):
    assert main(["render", str(motion), "--fps", fps, "--out", str(tmp_path / "x.mp4")]) == 2
    assert "--fps must be a number in (0, 240]" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
