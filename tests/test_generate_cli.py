"""`lead generate`: every output file per sample, the manifest, reproducibility, and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lead.cli import main
from lead.motion.bvh import read_bvh


def test_generate_writes_every_file_and_manifest(tiny_model, tmp_path):
    out = tmp_path / "out"
    code = main(["generate", "a person walks forward", "--model", str(tiny_model), "--frames", "44",
                 "--num-samples", "2", "--seed", "5", "--steps", "4", "--format", "gif", "--out", str(out)])
    assert code == 0
    manifest = json.loads((out / "samples.json").read_text())
    assert manifest["settings"]["use_projector"] is True and manifest["settings"]["num_inference_steps"] == 4
    assert manifest["model"]["sha256"] and manifest["model"]["text_encoder"].startswith("minilm")
    assert [s["seed"] for s in manifest["samples"]] == [5, 6]
    for sample in manifest["samples"]:
        files = sample["files"]
        assert np.load(out / files["features"]).shape == (44, 263)
        joints = np.load(out / files["joints"])
        assert joints.shape == (44, 22, 3)
        assert (out / files["video"]).stat().st_size > 1000
        bvh = read_bvh(out / files["bvh"])
        assert bvh.rotations.shape[0] == 44
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_same_seed_same_files_and_mld_switch(tiny_model, tmp_path):
    args = ["generate", "someone waves", "--model", str(tiny_model), "--frames", "40", "--steps", "3",
            "--format", "none", "--no-bvh"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert main([*args, "--out", str(tmp_path / "mld"), "--no-projector"]) == 0
    def features(folder):
        manifest = json.loads((tmp_path / folder / "samples.json").read_text())
        return np.load(tmp_path / folder / manifest["samples"][0]["files"]["features"])

    a, b, mld = features("a"), features("b"), features("mld")
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, mld)
    assert json.loads((tmp_path / "mld" / "samples.json").read_text())["settings"]["use_projector"] is False


def test_prompts_file(tiny_model, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a person walks forward#40\n\nsomeone raises both hands#52\n")
    out = tmp_path / "out"
    assert main(["generate", "--prompts", str(prompts), "--model", str(tiny_model), "--steps", "2",
                 "--format", "none", "--no-bvh", "--out", str(out)]) == 0
    samples = json.loads((out / "samples.json").read_text())["samples"]
    assert [(s["text"], s["frames"]) for s in samples] == [("a person walks forward", 40),
                                                           ("someone raises both hands", 52)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["  "], "empty text"), (["walk", "--frames", "0"], "out of range"),
     (["walk", "--frames", "-3"], "out of range"), (["walk", "--seconds", "100"], "out of range"),
     (["walk", "--seconds", "-1"], "must be a positive number"), (["x" * 600], "characters long"),
     ([], "no text given"), (["walk", "--seconds", "nan"], "must be a positive number"),
     (["walk", "--seconds", "inf"], "must be a positive number"), (["walk", "--seconds", "0.01"], "under one frame"),
     (["walk", "--seed", str(2**70)], "--seed must be in 0.."), (["walk", "--seed", str(2**63 - 1)], "--seed must be"),
     (["walk", "--seed", "-1"], "--seed must be"), (["walk", "--num-samples", "100000"], "--num-samples must be"),
     (["walk", "--guidance", "nan"], "--guidance must be"), (["walk", "--steps", "1000"], "1..999 for the ddim"),
     (["walk", "--sampler", "dpm++", "--steps", "0"], "1..1000 for the dpm++"),
     (["walk", "--device", "cuda:7"] if not __import__("torch").cuda.is_available() else ["walk", "--device", "tpu"],
      "--device")],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(tiny_model, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    steps = [] if "--steps" in extra else ["--steps", "2"]
    code = main(["generate", *extra, "--model", str(tiny_model), *steps, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_unknown_model_folder_and_corrupt_weights(tiny_model, tmp_path, capsys):
    import shutil

    assert main(["generate", "walk", "--model", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken, ignore=shutil.ignore_patterns("runs"))
    (broken / "denoiser" / "model.safetensors").write_bytes(b"not a safetensors file")
    assert main(["generate", "walk", "--model", str(broken), "--out", str(tmp_path / "o2")]) == 2
    assert "not a readable safetensors file" in capsys.readouterr().err
    mismatched = tmp_path / "mismatched"
    shutil.copytree(tiny_model, mismatched, ignore=shutil.ignore_patterns("runs"))
    shutil.copyfile(tiny_model / "vae" / "model.safetensors", mismatched / "denoiser" / "model.safetensors")
    assert main(["generate", "walk", "--model", str(mismatched), "--out", str(tmp_path / "o3")]) == 2
    assert "does not match its config.json" in capsys.readouterr().err


def test_unwritable_output_folder(tiny_model, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("a file, not a folder")
    assert main(["generate", "walk", "--model", str(tiny_model), "--out", str(target / "sub")]) == 2
    assert "is a file, so nothing can be written under it" in capsys.readouterr().err


def test_a_finished_output_folder_is_not_clobbered(tiny_model, tmp_path, capsys):
    """A second run into a folder with samples is refused (the first run's files untouched); --overwrite
    replaces them and its manifest describes exactly the files beside it; a live run's lock is respected."""
    import json
    import os

    out = tmp_path / "out"
    common = ["--model", str(tiny_model), "--steps", "2", "--frames", "40", "--format", "none", "--no-bvh",
              "--out", str(out)]
    assert main(["generate", "a person walks forward", "--seed", "1", *common]) == 0
    first = (out / "000_a_person_walks_forward.npy").read_bytes()
    assert main(["generate", "a person walks forward", "--seed", "100", *common]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "000_a_person_walks_forward.npy").read_bytes() == first
    assert main(["generate", "someone waves", "--seed", "100", "--overwrite", *common]) == 0
    manifest = json.loads((out / "samples.json").read_text())
    listed = {f for entry in manifest["samples"] for f in entry["files"].values()}
    assert listed == {p.name for p in out.iterdir() if p.name != "samples.json"}
    assert manifest["samples"][0]["seed"] == 100
    (out / ".lead-generate.lock").write_text(str(os.getpid()))  # this live process "holds" the folder
    assert main(["generate", "a person walks", "--overwrite", *common]) == 2
    assert "another lead generate" in capsys.readouterr().err
    (out / ".lead-generate.lock").write_text("999999999")  # a dead run's stale lock is taken over
    assert main(["generate", "a person walks", "--overwrite", *common]) == 0
    assert not (out / ".lead-generate.lock").exists()


def test_text_and_prompts_together_are_refused(tiny_model, tmp_path, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a person walks#40\n")
    assert main(["generate", "walk", "--prompts", str(prompts), "--model", str(tiny_model), "--out",
                 str(tmp_path / "o")]) == 2
    assert "not both" in capsys.readouterr().err
