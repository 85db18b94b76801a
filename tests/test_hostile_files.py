"""Issue 28, files: outputs onto things that are not regular files, inputs that would block (FIFOs), --overwrite
that removes only what the old manifest lists, a manifest a full disk cannot take, prompts files split on "\\n"
only, and text that is not UTF-8. Each through the real command in-process where it is a command's case."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from lead.cli import main
from lead.errors import LeadError

FIXTURES = Path(__file__).parent / "fixtures"
FEATURES = FIXTURES / "humanml3d-reference" / "new_joint_vecs" / "012314.npy"
GENERATE = ["--seconds", "1", "--steps", "2", "--format", "none", "--no-bvh"]


def last_error_line(capsys, argv: list[str], status: int = 2) -> str:
    assert main(argv) == status
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = [line for line in captured.err.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and lines[-1].startswith("lead: error: "), captured.err
    return lines[-1]


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def device_node(path: Path) -> Path:
    """A copy of /dev/null (character device 1:3); only root may make one."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root; the FIFO cases cover the same check")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


# --- outputs onto things that are not regular files -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_the_atomic_writer_refuses_a_target_that_is_not_a_regular_file(tmp_path, kind):
    from lead.io import save_npy, save_text

    target = tmp_path / "out.npy"
    if kind == "fifo":
        fifo(target)
    elif kind == "device":
        device_node(target)
    else:
        target.mkdir()
    before = target.stat()
    for write in (lambda: save_npy(target, np.zeros(3)), lambda: save_text(target, "x")):
        with pytest.raises(LeadError, match="not a regular file; nothing was written there"):
            write()
    after = target.stat()
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.npy"]  # no temporary file left


def test_a_link_to_a_fifo_is_refused_too(tmp_path):
    from lead.io import save_text

    (tmp_path / "link.txt").symlink_to(fifo(tmp_path / "pipe"))
    with pytest.raises(LeadError, match="FIFO"):
        save_text(tmp_path / "link.txt", "x")
    assert (tmp_path / "link.txt").is_symlink()


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_invert_out_onto_a_special_file_is_refused_before_any_work(tmp_path, capsys, kind):
    target = tmp_path / "c.safetensors"
    fifo(target) if kind == "fifo" else device_node(target)
    motion = tmp_path / "walk.npy"
    np.save(motion, np.load(FEATURES)[:40])
    line = last_error_line(capsys, ["invert", str(motion), "--token", "<x>", "--init-word", "walk", "--steps", "1",
                                    "--quiet", "--out", str(target)])
    assert f"cannot write {target}: it is a" in line and "not a regular file" in line
    assert not target.is_file()


def test_generate_into_a_fifo_named_like_a_sample_fails_cleanly(tmp_path, capsys):
    """The sample's own file name is a FIFO: one line, the FIFO is still a FIFO, no other sample file is left."""
    out = tmp_path / "run"
    out.mkdir()
    fifo(out / "000_a_person_walks.npy")
    line = last_error_line(capsys, ["generate", "a person walks", *GENERATE, "--overwrite", "--out", str(out)])
    assert "000_a_person_walks.npy: it is a FIFO (named pipe), not a regular file" in line
    assert stat.S_ISFIFO(os.stat(out / "000_a_person_walks.npy").st_mode)
    assert sorted(path.name for path in out.iterdir()) == ["000_a_person_walks.npy"]


# --- inputs that are not regular files: refused, never opened for a blocking read -----------------------------------

def test_import_bvh_of_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    take = fifo(tmp_path / "take.bvh")
    line = last_error_line(capsys, ["data", "import-bvh", str(take), "--out", str(tmp_path / "o"), "--quiet"], 1)
    assert "1 of 1 BVH files failed" in line
    assert not (tmp_path / "o").exists()


def test_import_bvh_of_a_folder_with_a_fifo_imports_the_rest(tmp_path, capsys):
    folder = tmp_path / "takes"
    folder.mkdir()
    shutil.copy(sorted((FIXTURES / "bandai-namco").rglob("*.bvh"))[0], folder / "good.bvh")
    fifo(folder / "pipe.bvh")
    assert main(["data", "import-bvh", str(folder), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "pipe.bvh: BVH file is a FIFO (named pipe), not a regular file" in err
    assert (tmp_path / "o" / "new_joint_vecs" / "good.npy").is_file()


def test_data_check_with_a_fifo_among_the_motions_reports_it(tmp_path, tiny_dataset, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    motion = sorted((data / "new_joint_vecs").glob("*.npy"))[0]
    motion.unlink()
    fifo(motion)
    assert main(["data", "check", str(data)]) == 1
    captured = capsys.readouterr()
    assert "FIFO (named pipe), not a regular file" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.parametrize("what", ["prompts", "concept"])
def test_generate_refuses_a_fifo_as_prompts_or_concept_file(tmp_path, capsys, what):
    pipe = fifo(tmp_path / "pipe")
    argv = (["generate", "--prompts", str(pipe)] if what == "prompts"
            else ["generate", "a person walks", "--concept", str(pipe)])
    line = last_error_line(capsys, [*argv, *GENERATE, "--out", str(tmp_path / "out")])
    assert f"{pipe}:" in line and "FIFO (named pipe), not a regular file" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["config.json", "mean.npy", "vae/model.safetensors"])
def test_a_model_folder_with_a_fifo_is_refused(tmp_path, capsys, name):
    from lead.models.bundle import default_model_path

    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    (model / name).unlink()
    fifo(model / name)
    line = last_error_line(capsys, ["generate", "a person walks", "--model", str(model), *GENERATE,
                                    "--out", str(tmp_path / "out")])
    assert str(model / name) in line and "FIFO" in line


def test_the_low_level_readers_refuse_a_fifo_and_a_folder(tmp_path):
    from lead.io import load_array, read_text
    from lead.motion.bvh import read_bvh

    pipe = fifo(tmp_path / "pipe")
    for read in (read_text, load_array, read_bvh):
        for path in (pipe, tmp_path):
            with pytest.raises(LeadError, match="not a regular file"):
                read(path)


# --- --overwrite removes exactly what the old manifest lists; a manifest that cannot be written --------------------

def _run(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "run"
    assert main(["generate", "a person walks", *GENERATE, "--num-samples", "2", "--out", str(out), *extra]) == 0
    return out


def test_overwrite_removes_only_what_the_old_manifest_lists(tmp_path, capsys):
    out = _run(tmp_path)
    listed = [f for entry in json.loads((out / "samples.json").read_text())["samples"] for f in entry["files"].values()]
    (out / "007_notes.txt").write_text("mine")
    (out / "002_mine.npy").write_bytes(b"mine")  # named like a sample, but no manifest lists it
    assert main(["generate", "a person waves", *GENERATE, "--overwrite", "--out", str(out)]) == 0
    assert (out / "007_notes.txt").read_text() == "mine" and (out / "002_mine.npy").read_bytes() == b"mine"
    assert not any((out / name).exists() for name in listed)
    manifest = json.loads((out / "samples.json").read_text())
    assert [entry["text"] for entry in manifest["samples"]] == ["a person waves"]


def test_overwrite_never_follows_a_manifest_out_of_the_folder(tmp_path, capsys):
    out = _run(tmp_path)
    outside = tmp_path / "precious.npy"
    outside.write_bytes(b"keep")
    data = json.loads((out / "samples.json").read_text())
    data["samples"][0]["files"]["features"] = "../precious.npy"
    data["samples"][1]["files"]["features"] = str(outside)
    (out / "samples.json").write_text(json.dumps(data))
    assert main(["generate", "a person walks", *GENERATE, "--overwrite", "--out", str(out)]) == 0
    assert outside.read_bytes() == b"keep"


@pytest.mark.parametrize("fail_at", [1, 2], ids=["first batch", "second batch"])
def test_a_batch_whose_manifest_cannot_be_written_leaves_no_unlisted_file(tmp_path, monkeypatch, capsys, fail_at):
    """The disk fills exactly when samples.json is written: that batch's samples go, the error is one line, and
    what is left is listed by the manifest on disk (or nothing is left)."""
    from lead import defaults, generation_io

    real, calls = generation_io.save_json, []

    def full(path, data):
        calls.append(path)
        if len(calls) == fail_at:
            raise LeadError(f"cannot write {path}: {os.strerror(errno.ENOSPC)}; nothing was written there")
        return real(path, data)

    monkeypatch.setattr(generation_io, "save_json", full)
    monkeypatch.setattr(defaults, "BATCH_SIZE", 1)
    out = tmp_path / "run"
    line = last_error_line(capsys, ["generate", "a person walks", *GENERATE, "--num-samples", "3", "--out", str(out)])
    assert "No space left on device" in line
    if fail_at == 1:
        assert not out.exists()
        return
    manifest = json.loads((out / "samples.json").read_text())
    listed = {f for entry in manifest["samples"] for f in entry["files"].values()}
    assert len(manifest["samples"]) == 1 and manifest["complete"] is False
    assert {path.name for path in out.iterdir()} == listed | {"samples.json"}


def test_a_manifest_write_that_fails_removes_that_batch_only(tmp_path):
    from lead.generation_io import SampleWriter

    class Failing(SampleWriter):
        calls = 0

        def _write_manifest(self, complete):
            Failing.calls += 1
            if Failing.calls == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            (self.out / "samples.json").write_text(json.dumps([e["files"] for e in self.entries]))

    writer = Failing(tmp_path, pipeline=None)

    def batch(names):
        for name in names:
            (tmp_path / name).write_bytes(b"x")
            writer.entries.append({"files": {"features": name}})
        writer._save(complete=False)

    with pytest.raises(OSError), writer:
        batch(["000_a.npy"])
        batch(["001_b.npy", "002_c.npy"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["000_a.npy", "samples.json"]
    assert writer.entries == [{"files": {"features": "000_a.npy"}}]


# --- prompts files and text ----------------------------------------------------------------------------------------

def test_prompts_file_lines_split_on_newline_only(tmp_path, monkeypatch):
    from lead.commands.generate import read_prompts

    prompts = tmp_path / "prompts.txt"
    prompts.write_bytes("\ufeffa person walks#40\r\na person\u2028waves\fhello#30\r\na person jumps\rhigh\n"
                        .encode("utf-8"))
    assert read_prompts(str(prompts), 100) == [("a person walks", 40), ("a person\u2028waves\fhello", 30),
                                                ("a person jumps\rhigh", 100)]


@pytest.mark.parametrize("text, expected", [
    ("a person walks \udcff", "the text is not UTF-8 (byte 0xff at character 16)"),
    ("a person \ud800 walks", "lone surrogate U+D800 at character 10"),
    (" \u2028 \f ", "empty text"),
], ids=["invalid utf-8 argument", "lone surrogate", "only separators"])
def test_text_that_is_not_utf8_is_one_line_before_the_model_loads(tmp_path, capsys, monkeypatch, text, expected):
    from lead import pipeline

    monkeypatch.setattr(pipeline.TextToMotionPipeline, "from_pretrained", None)  # never reached
    line = last_error_line(capsys, ["generate", text, *GENERATE, "--out", str(tmp_path / "out")])
    assert expected in line
    assert not (tmp_path / "out").exists()


def test_the_python_api_refuses_a_lone_surrogate_with_the_same_line():
    from lead.text_check import clean_text

    with pytest.raises(LeadError, match="lone surrogate U\\+DFFF"):
        clean_text("walk \udfff")
    assert clean_text("  a\u2028person\fwalks \t") == "a person walks"


# --- BVH: iterative, finite and bounded numbers ---------------------------------------------------------------------

def _bvh(offset: str = "0 1 0", frame_time: str = "0.05", values: str = "0 0 0 0 0 0 0 0 0", depth: int = 1) -> str:
    """A chain of `depth` joints under a root; the MOTION values are for the root's 6 channels and one rotation
    channel triple on the first child (more children get no channels)."""
    lines = ["HIERARCHY", "ROOT Hips", "{", "OFFSET 0 0 0", "CHANNELS 6 Xposition Yposition Zposition Zrotation "
             "Xrotation Yrotation"]
    for level in range(depth):
        lines += [f"JOINT j{level}", "{", f"OFFSET {offset}"]
        if level == 0:
            lines.append("CHANNELS 3 Zrotation Xrotation Yrotation")
    lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * depth + ["}"]
    lines += ["MOTION", "Frames: 2", f"Frame Time: {frame_time}", values, values]
    return "\n".join(lines) + "\n"


def test_bvh_with_3000_nested_joints_reads_without_recursion(tmp_path):
    from lead.motion.bvh import read_bvh, write_bvh

    path = tmp_path / "deep.bvh"
    path.write_text(_bvh(depth=3000))
    motion = read_bvh(path)
    assert motion.num_joints == 3001 and motion.parents[-1] == 2999
    write_bvh(tmp_path / "again.bvh", motion)
    assert read_bvh(tmp_path / "again.bvh").num_joints == 3001


@pytest.mark.parametrize("case, expected", [
    ({"frame_time": "100000"}, "Frame Time 100000 seconds is outside 0.0001..10"),
    ({"frame_time": "inf"}, "Frame Time inf seconds is outside"),
    ({"frame_time": "1e-320"}, "Frame Time 1e-320 seconds is outside"),
    ({"frame_time": "nan"}, "expected at least one frame and a positive Frame Time"),
    ({"offset": "0 1e308 0"}, "finite and within +-1e+06"),
    ({"offset": "0 nan 0"}, "finite and within +-1e+06"),
    ({"offset": "inf 0 0"}, "finite and within +-1e+06"),
    ({"values": "0 0 0 0 0 0 0 inf 0"}, "channel value 8 is inf"),
    ({"values": "1e308 0 0 0 0 0 0 0 0"}, "channel value 1 is 1e+308"),
    ({"values": "0 nan 0 0 0 0 0 0 0"}, "channel value 2 is nan"),
], ids=["frame time 100000", "frame time inf", "frame time 1e-320", "frame time nan", "offset 1e308", "offset nan",
        "offset inf", "value inf", "value 1e308", "value nan"])
def test_bvh_numbers_must_be_finite_and_bounded(tmp_path, capsys, case, expected):
    take = tmp_path / "take.bvh"
    take.write_text(_bvh(**case))
    line = last_error_line(capsys, ["data", "import-bvh", str(take), "--out", str(tmp_path / "o"), "--quiet"], 1)
    assert f"1 of 1 BVH files failed to import ({take}: " in line and expected in line
    assert "unexpected" not in line and "nothing was written" in line
    assert not (tmp_path / "o").exists()


def test_import_bvh_quiet_names_every_reason_it_points_to(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / f"{name}.bvh").write_text(_bvh(frame_time="inf"))
    assert main(["data", "import-bvh", str(tmp_path / "a.bvh"), str(tmp_path / "b.bvh"), "--out",
                 str(tmp_path / "o"), "--quiet"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 3 and "each error above" in err[-1]
    assert all("Frame Time inf" in line for line in err[:2])


# --- training checkpoints ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_vae(tmp_path_factory, tiny_dataset) -> Path:
    out = tmp_path_factory.mktemp("train") / "model"
    assert main(["train", "vae", "--data", str(tiny_dataset), "--out", str(out), "--preset", "tiny", "--max-steps", "1",
                 "--batch-size", "2", "--checkpoint-every", "1"]) == 0
    return out


@pytest.mark.parametrize("damage", ["truncated", "middle byte", "empty", "fifo"])
def test_resume_from_a_damaged_checkpoint_is_one_line_and_writes_nothing(tmp_path, tiny_dataset, trained_vae, capsys,
                                                                         damage):
    out = tmp_path / "model"
    shutil.copytree(trained_vae, out)
    last = out / "runs" / "vae" / "checkpoints" / "last.ckpt"
    data = last.read_bytes()
    last.unlink()
    if damage == "fifo":
        fifo(last)
    else:
        damaged = {"truncated": data[: len(data) // 2], "empty": b"",
                   "middle byte": data[:200] + bytes([data[200] ^ 0xFF]) + data[201:]}[damage]
        last.write_bytes(damaged)
    before = sorted(str(path.relative_to(out)) for path in out.rglob("*"))
    line = last_error_line(capsys, ["train", "vae", "--data", str(tiny_dataset), "--out", str(out), "--preset", "tiny",
                                    "--max-steps", "2", "--batch-size", "2", "--resume"])
    assert str(last) in line
    assert ("FIFO" in line) if damage == "fifo" else ("is damaged" in line and "without --resume" in line)
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*")) == before  # no new log folder


def test_checkpoints_are_written_through_a_renamed_temporary_file(trained_vae, tmp_path, tiny_dataset, monkeypatch):
    """The checkpoint writer is lead.io.atomic_path: a save that fails half-way leaves the old last.ckpt whole."""
    import torch as torch_module

    from lead.train.common import AtomicCheckpointIO

    target = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, target)
    whole = target.read_bytes()

    def dies(obj, file):
        Path(file).write_bytes(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch_module, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        AtomicCheckpointIO().save_checkpoint({"step": 2}, target)
    assert target.read_bytes() == whole and [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_resume_from_a_whole_checkpoint_still_runs(tmp_path, tiny_dataset, trained_vae):
    out = tmp_path / "model"
    shutil.copytree(trained_vae, out)
    assert main(["train", "vae", "--data", str(tiny_dataset), "--out", str(out), "--preset", "tiny", "--max-steps", "2",
                 "--batch-size", "2", "--resume"]) == 0


@pytest.mark.parametrize("argv, expected", [
    (["invert", "WALK", "--token", "<\udcff>", "--init-word", "walk", "--out", "OUT/c.safetensors"],
     "--token is not UTF-8 (byte 0xff at character 2)"),
    (["invert", "WALK", "--token", "<x>", "--init-word", "w\udce9", "--out", "OUT/c.safetensors"],
     "--init-word is not UTF-8 (byte 0xe9"),
    (["eval", "inversion", "--data", "OUT", "--evaluator", "OUT", "--style-clips", "a", "--prompt",
      "a person {} \udcff", "--out", "OUT/e"],
     "--prompt is not UTF-8"),
], ids=["invert token", "invert init-word", "eval inversion prompt"])
def test_text_options_that_are_not_utf8_are_one_line(tmp_path, capsys, argv, expected):
    walk = tmp_path / "walk.npy"
    np.save(walk, np.load(FEATURES)[:40])
    argv = [str(walk) if arg == "WALK" else arg.replace("OUT", str(tmp_path / "out")) for arg in argv]
    assert expected in last_error_line(capsys, argv)
    assert not (tmp_path / "out").exists()
