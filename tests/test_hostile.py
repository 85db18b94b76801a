"""The classes of bad input that scripts/hostile_inputs.py found (issue 13), each through the real command in-process:
one `lead: error:` line as the last line of stderr, no traceback, and nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lead.cli import main
from lead.models.bundle import default_model_path

FIXTURES = Path(__file__).parent / "fixtures"
FEATURES = FIXTURES / "humanml3d-reference" / "new_joint_vecs" / "012314.npy"


def last_error_line(capsys, argv: list[str], status: int = 2) -> str:
    assert main(argv) == status
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = [line for line in captured.err.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and lines[-1].startswith("lead: error: "), captured.err
    return lines[-1]


def made(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture
def walk(tmp_path) -> Path:
    path = tmp_path / "walk.npy"
    np.save(path, np.load(FEATURES)[:60])
    return path


# numbers past what the command could use: refused before anything loads or is written
@pytest.mark.parametrize("argv, expected", [
    (["generate", "a person walks", "--seconds", "1e308"], "--seconds 1e+308 is far past"),
    (["render", "WALK", "WALK", "--grid", "--columns", "0", "--out", "OUT/x.mp4"], "--columns must be in 1..2"),
    (["invert", "WALK", "--token", "<x>", "--init-word", "walk", "--steps", str(2**64), "--out", "OUT/c.safetensors"],
     "--steps must be in 1..1000000"),
    (["invert", "WALK", "--token", "<x>", "--init-word", " ", "--out", "OUT/c.safetensors"], "--init-word is empty"),
    (["serve", "--threads", "0", "--port", "0"], "--threads must be at least 1"),
    (["data", "prepare", "bandai-namco", "BANDAI", "--workers", "0", "--out", "OUT/d"], "--workers must be at least 1"),
    (["data", "prepare", "bandai-namco", "BANDAI", "--seed", "-1", "--out", "OUT/d"], "--seed must be in 0.."),
    (["eval", "t2m", "--data", "DATA", "--evaluator", "DATA", "--mm-generations", "0", "--out", "OUT/e"],
     "--mm-generations must be at least 1"),
    (["eval", "t2m", "--data", "DATA", "--evaluator", "DATA", "--min-length", "-1", "--out", "OUT/e"],
     "--min-length must be at least 1"),
    (["eval", "tsne", "--data", "DATA", "--min-length", "-1", "--out", "OUT/t.png"], "--min-length must be at least"),
    (["eval", "inversion", "--data", "DATA", "--evaluator", "DATA", "--style-clips", "a", "--prompt", "a person",
      "--out", "OUT/e"], "has no {} for the learned word"),
], ids=["generate seconds 1e308", "render columns 0", "invert steps 2**64", "invert init-word empty",
        "serve threads 0", "prepare workers 0", "prepare seed -1", "t2m mm-generations 0", "t2m min-length -1",
        "tsne min-length -1", "inversion prompt without {}"])
def test_numbers_and_options_out_of_range(tmp_path, walk, capsys, argv, expected):
    out = tmp_path / "out"
    names = {"WALK": str(walk), "DATA": str(tmp_path), "BANDAI": str(FIXTURES / "bandai-namco" / "dataset-1")}
    argv = [names.get(arg, arg.replace("OUT", str(out))) for arg in argv]
    if argv[0] == "generate":
        argv += ["--out", str(out / "g")]
    assert expected in last_error_line(capsys, argv)
    assert not out.exists()


TRAIN = {
    "vae --dropout 1.5": (["vae", "--dropout", "1.5"], "--dropout must be a finite number in [0, 1)"),
    "vae --frames-per-token 0": (["vae", "--frames-per-token", "0"], "--frames-per-token must be in 1..196"),
    "vae --kl-weight nan": (["vae", "--kl-weight", "nan"], "--kl-weight must be a finite number"),
    "vae --latent-size -1": (["vae", "--latent-size", "-1"], "--latent-size must be at least 1"),
    "vae --balance-power inf": (["vae", "--balance-power", "inf"], "--balance-power must be a finite number"),
    "vae --balance-boost kick=0": (["vae", "--balance", "content", "--balance-boost", "kick=0"],
                                   "--balance-boost 'kick=0': expected LABEL=FACTOR with a factor > 0"),
    "vae --balance-boost without --balance": (["vae", "--balance-boost", "kick=2"], "--balance-boost needs --balance"),
    "vae --balance-boost content:=2": (["vae", "--balance", "content", "--balance-boost", "content:=2"],
                                       "--balance-boost 'content:=2': expected FIELD:VALUE pairs"),
    "vae --batch-size 2**64": (["vae", "--batch-size", str(2**64)], "--batch-size must be in 1.."),
    "lcm --huber-c 0": (["lcm", "--huber-c", "0"], "--huber-c must be a finite number in (0, inf]"),
    "lcm --w-min -1": (["lcm", "--w-min", "-1"], "--w-min must be a finite number in [0, inf]"),
    "projector --name ../x": (["projector", "--name", "../x"], "--name '../x': a component folder name"),
    "evaluator --epochs 0": (["evaluator", "--epochs", "0"], "--epochs must be at least 1"),
    "evaluator --batch-size 1": (["evaluator", "--batch-size", "1"], "--batch-size must be at least 2"),
    "evaluator --lr nan": (["evaluator", "--lr", "nan"], "--lr must be a finite number > 0"),
    "evaluator --seed -1": (["evaluator", "--seed", "-1"], "--seed must be in 0.."),
    "evaluator --devices abc": (["evaluator", "--devices", "abc"], "--devices must be a number or 'auto'"),
    "evaluator --max-time abc": (["evaluator", "--max-time", "abc"], "--max-time must be DD:HH:MM:SS"),
}


@pytest.mark.parametrize("case", list(TRAIN))
def test_training_options_are_checked_before_any_folder_is_written(tmp_path, tiny_dataset, capsys, case):
    argv, expected = TRAIN[case]
    out = tmp_path / "model"
    line = last_error_line(capsys, ["train", *argv, "--data", str(tiny_dataset), "--out", str(out),
                                    "--max-steps", "1"])
    assert expected in line
    assert not out.exists()


def test_nan_in_a_training_clip_is_refused_before_the_run_starts(tmp_path, tiny_dataset, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    np.save(data / "new_joint_vecs" / "000001.npy", np.full((80, 263), np.nan, np.float32))
    out = tmp_path / "model"
    line = last_error_line(capsys, ["train", "vae", "--data", str(data), "--out", str(out), "--preset", "tiny",
                                    "--max-steps", "1", "--batch-size", "2"])
    assert "000001.npy: motion holds NaN or infinite values" in line
    assert not (out / "runs").exists() and not (out / "vae").exists()


@pytest.mark.parametrize("std, expected", [(np.zeros(263, np.float32), "is zero in every channel"),
                                           (-np.ones(263, np.float32), "holds negative values")],
                         ids=["zeros", "negative"])
def test_a_model_whose_std_npy_is_not_a_standard_deviation_is_refused(tmp_path, capsys, std, expected):
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    np.save(model / "std.npy", std)
    line = last_error_line(capsys, ["generate", "a person walks", "--model", str(model), "--seconds", "1",
                                    "--steps", "2", "--format", "none", "--out", str(tmp_path / "out")])
    assert expected in line and str(model / "std.npy") in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("field, value, expected", [
    ("latent_scale", 0, "latent_scale must be a finite number > 0"),
    ("latent_scale", -1.5, "latent_scale must be a finite number > 0"),
    ("text_encoder", "bogus", "text_encoder must be one of minilm, clip, t5"),
    ("guidance", -1, "guidance must be a finite number >= 0"),
])
def test_a_model_config_with_a_bad_field_is_refused_naming_the_file(tmp_path, capsys, field, value, expected):
    import json

    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    data = json.loads((model / "config.json").read_text())
    data["config"][field] = value
    (model / "config.json").write_text(json.dumps(data))
    line = last_error_line(capsys, ["generate", "a person walks", "--model", str(model), "--seconds", "1",
                                    "--steps", "2", "--format", "none", "--out", str(tmp_path / "out")])
    assert expected in line and str(model / "config.json") in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("manifest", ["{}", "[1, 2]", '{"samples": [{"files": 3}]}', "not json"])
def test_overwrite_replaces_a_damaged_earlier_manifest(tmp_path, capsys, manifest):
    out = tmp_path / "run"
    out.mkdir()
    (out / "samples.json").write_text(manifest)
    (out / "000_old.npy").write_bytes(b"old")
    assert main(["generate", "a person walks", "--seconds", "1", "--steps", "2", "--format", "none", "--no-bvh",
                 "--overwrite", "--out", str(out)]) == 0
    assert json.loads((out / "samples.json").read_text())["complete"] is True
    assert not (out / "000_old.npy").exists()


def test_a_data_check_that_finds_problems_ends_with_one_error_line(tmp_path, tiny_dataset, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    (data / "test.txt").unlink()
    assert "has problems (listed above)" in last_error_line(capsys, ["data", "check", str(data)], status=1)


@pytest.mark.parametrize("content", [b"", b"garbage\x00", b"HIERARCHY\nROOT Hips\n{\n"], ids=["empty", "binary",
                                                                                             "truncated"])
def test_import_bvh_with_every_file_broken_ends_with_one_error_line(tmp_path, capsys, content):
    take = tmp_path / "take.bvh"
    take.write_bytes(content)
    out = tmp_path / "imported"
    line = last_error_line(capsys, ["data", "import-bvh", str(take), "--out", str(out), "--quiet"], status=1)
    assert "1 of 1 BVH files failed" in line and "nothing was written" in line
    assert not out.exists()


@pytest.mark.parametrize("content", [b"\xfd7zXZ\x00garbage", b""], ids=["garbage", "empty"])
def test_prepare_refuses_a_broken_archive_and_leaves_no_staging_folder(tmp_path, capsys, content):
    archive = tmp_path / "dataset.tar.xz"
    archive.write_bytes(content)
    out = tmp_path / "prepared"
    assert "not a readable tar.xz archive" in last_error_line(
        capsys, ["data", "prepare", "bandai-namco", str(archive), "--out", str(out), "--quiet"])
    assert made(tmp_path) == ["dataset.tar.xz"]


def test_prepare_that_fails_mid_way_removes_its_staging_folder(tmp_path, capsys):
    source = tmp_path / "src"
    shutil.copytree(FIXTURES / "bandai-namco" / "dataset-1", source)
    sorted(source.rglob("*.bvh"))[0].write_bytes(b"garbage")
    out = tmp_path / "prepared"
    last_error_line(capsys, ["data", "prepare", "bandai-namco", str(source), "--out", str(out), "--quiet",
                             "--workers", "1"])
    assert not out.exists() and not (tmp_path / "prepared.tmp").exists()


@pytest.mark.parametrize("content", [b"", b"1 2 3", b"\x93NUMPY"], ids=["empty", "text", "header only"])
def test_invert_names_an_unreadable_example(tmp_path, capsys, content):
    example = tmp_path / "m.npy"
    example.write_bytes(content)
    line = last_error_line(capsys, ["invert", str(example), "--token", "<x>", "--init-word", "walk", "--steps", "1",
                                    "--quiet", "--out", str(tmp_path / "c.safetensors")])
    assert str(example) in line
    assert not (tmp_path / "c.safetensors").exists()


def test_tsne_names_a_broken_labels_json(tmp_path, tiny_model, tiny_dataset, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    (data / "labels.json").write_text("{broken")
    line = last_error_line(capsys, ["eval", "tsne", "--data", str(data), "--model", str(tiny_model), "--split",
                                    "train", "--max-clips", "8", "--out", str(tmp_path / "t.png")])
    assert "labels.json:1: label table is not valid JSON" in line
    assert not (tmp_path / "t.png").exists()


@pytest.mark.parametrize("stop, code, line", [("Terminated", 143, "lead: terminated"),
                                              ("KeyboardInterrupt", 130, "lead: interrupted")])
def test_a_signal_wrapped_by_python_is_still_one_line(monkeypatch, capsys, stop, code, line):
    """SIGTERM landing inside an import's class body comes out as RuntimeError('Error calling __set_name__')
    with the signal as its cause (seen in the hostile sweep): still 'terminated', no traceback."""
    from lead import cli
    from lead.commands import data_check

    signal_error = cli.Terminated(15) if stop == "Terminated" else KeyboardInterrupt()

    def wrapped(_args):
        try:
            raise signal_error
        except BaseException as error:
            raise RuntimeError("Error calling __set_name__ on 'Field' instance") from error

    monkeypatch.setattr(data_check, "run", wrapped)
    assert cli.main(["data", "check", "anything"]) == code
    assert capsys.readouterr().err.strip().splitlines() == [line]
