"""Bad input gets one clear line (issues 13, 14): broken model and evaluator folders, text that is not UTF-8,
outputs that cannot be written, numbers out of range. The real commands run in-process through `lead.cli.main`;
each case checks exit status 2, one `lead: error:` line naming the file (or option), and no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lead.cli import main
from lead.models.bundle import default_model_path

FEATURES = Path(__file__).parent / "fixtures" / "humanml3d-reference" / "new_joint_vecs" / "012314.npy"
REFERENCE = FEATURES.parent.parent


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory) -> Path:
    """A tiny random T2M evaluator in our folder format (what `lead train evaluator` writes)."""
    from lead.evaluation.evaluator import EvaluatorConfig, T2MEvaluator
    from lead.evaluation.word_vectorizer import MiniLMWordVectors, WordVectorizer

    config = EvaluatorConfig(dim_word=384, dim_movement_enc_hidden=16, dim_movement_latent=16,
                             dim_motion_hidden=16, dim_text_hidden=16, dim_coemb_hidden=8)
    folder = tmp_path_factory.mktemp("evaluator")
    stats = np.load(REFERENCE / "Mean.npy"), np.load(REFERENCE / "Std.npy")
    T2MEvaluator(config, *stats, WordVectorizer(MiniLMWordVectors()), seed=1).save(folder)
    return folder


def refused(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("lead: error:")]
    assert len(lines) == 1, err
    return lines[0]


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _set(component: str, field: str, value):
    def edit(folder: Path) -> None:
        _edit_json(folder / component / "config.json", lambda data: data["config"].__setitem__(field, value))
    return edit


# case → (how to break a copy of the shipped model, text the one line must hold)
BROKEN_MODELS = {
    "config.json a list": (lambda d: (d / "config.json").write_text("[1, 2]"), "got a list"),
    "config a string": (lambda d: _edit_json(d / "config.json", lambda c: c.__setitem__("config", "x")),
                        "'config' must be a JSON object"),
    "config.json broken": (lambda d: (d / "config.json").write_text('{"kind": '), "is not valid JSON"),
    "config.json Latin-1": (lambda d: (d / "config.json").write_bytes(b'{"kind": "caf\xe9"}'), "not UTF-8"),
    "fps a string": (lambda d: _edit_json(d / "config.json", lambda c: c["config"].__setitem__("fps", "20")),
                     "field 'fps' must be int"),
    "vae config a list": (lambda d: (d / "vae" / "config.json").write_text("[]"), "got a list"),
    "width a string": (_set("vae", "latent_dim", "128"), "field 'latent_dim' must be int"),
    "layers a float": (_set("denoiser", "num_layers", 2.5), "field 'num_layers' must be int"),
    "heads do not divide": (_set("vae", "num_heads", 3), "divisible by num_heads"),
    "negative size": (_set("denoiser", "ff_size", -5), "field 'ff_size' is a size and must be >= 0"),
    "mean.npy text": (lambda d: (d / "mean.npy").write_text("0.1 0.2\n"), "is not a .npy file"),
    "mean.npy pickled": (lambda d: np.save(d / "mean.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True),
                         "holds pickled Python objects"),
    "mean.npy strings": (lambda d: np.save(d / "mean.npy", np.array(["a"] * 263)), "expected numbers"),
    "mean.npy of another length": (lambda d: np.save(d / "mean.npy", np.zeros(100, np.float32)), "100 channels"),
    "weights truncated": (lambda d: (d / "vae" / "model.safetensors").write_bytes(b"\x10\x00"),
                          "not a readable safetensors file"),
}


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory):
    source = tmp_path_factory.mktemp("default") / "model"
    shutil.copytree(default_model_path(), source)
    return source


@pytest.mark.parametrize("case", list(BROKEN_MODELS))
def test_a_broken_model_folder_is_one_line_naming_the_file(tmp_path, model_copy, capsys, case):
    folder = tmp_path / "model"
    shutil.copytree(model_copy, folder)
    breaking, expected = BROKEN_MODELS[case]
    breaking(folder)
    line = refused(capsys, "generate", "a person walks", "--model", str(folder), "--out", str(tmp_path / "out"))
    assert expected in line and str(folder) in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["config.json a list", "heads do not divide", "mean.npy pickled"])
def test_the_same_broken_folders_through_invert(tmp_path, model_copy, capsys, case):
    folder = tmp_path / "model"
    shutil.copytree(model_copy, folder)
    breaking, expected = BROKEN_MODELS[case]
    breaking(folder)
    motion = tmp_path / "walk.npy"
    np.save(motion, np.load(FEATURES)[:60])
    out = tmp_path / "c.safetensors"
    line = refused(capsys, "invert", str(motion), "--token", "<x>", "--init-word", "walk", "--steps", "1",
                   "--model", str(folder), "--out", str(out))
    assert expected in line and not out.exists()


BROKEN_EVALUATORS = {
    "config.json broken": (lambda d: (d / "config.json").write_text("{oops"), "is not valid JSON"),
    "config.json a list": (lambda d: (d / "config.json").write_text("[]"), "is not a lead-t2m-evaluator config"),
    "a field of the wrong type": (lambda d: _edit_json(d / "config.json",
                                                       lambda c: c.__setitem__("max_text_len", "x")),
                                  "field 'max_text_len' must be int"),
    "model.safetensors truncated": (lambda d: (d / "model.safetensors").write_bytes(
        (d / "model.safetensors").read_bytes()[:5000]), "not a readable safetensors file"),
    "vectorizer.json broken": (lambda d: (d / "vectorizer.json").write_text("{"), "is not valid JSON"),
    "vectorizer.json a list": (lambda d: (d / "vectorizer.json").write_text("[1]"), "expected a JSON object"),
    "mean.npy pickled": (lambda d: np.save(d / "mean.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True),
                         "holds pickled Python objects"),
}


@pytest.mark.parametrize("case", list(BROKEN_EVALUATORS))
def test_a_broken_evaluator_folder_is_one_line_naming_the_file(tmp_path, case, evaluator):
    from lead.errors import LeadError
    from lead.evaluation.protocol import load_evaluator

    folder = tmp_path / "evaluator"
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "mean.npy", "std.npy", "vectorizer.json"):
        shutil.copy(evaluator / name, folder / name)
    breaking, expected = BROKEN_EVALUATORS[case]
    breaking(folder)
    with pytest.raises(LeadError) as caught:
        load_evaluator(folder)  # what `lead eval t2m|motion|inversion --evaluator` call
    assert expected in str(caught.value) and str(folder) in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("content", [b"a person walks\n\x00\x01\x02binary", b"a person walks\ncaf\xe9 au lait#40\n"],
                         ids=["binary", "latin-1"])
def test_a_prompts_file_that_is_not_utf8_names_file_and_line(tmp_path, capsys, content):
    prompts = tmp_path / "prompts.txt"
    prompts.write_bytes(content)
    line = refused(capsys, "generate", "--prompts", str(prompts), "--out", str(tmp_path / "out"))
    assert f"{prompts}:2:" in line
    assert not (tmp_path / "out").exists()


def _motion(tmp_path: Path) -> Path:
    motion = tmp_path / "walk.npy"
    np.save(motion, np.load(FEATURES)[:40])
    return motion


@pytest.mark.parametrize("command", ["render", "invert", "eval-motion", "eval-t2m", "eval-tsne", "train", "generate"])
@pytest.mark.parametrize("place", ["under a file", "read-only file system"])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, command, place):
    afile = tmp_path / "afile"
    afile.write_text("x")
    base = afile if place == "under a file" else Path("/sys/lead-test")
    data = str(tmp_path / "no-data")  # never read: the output is checked first
    argv = {
        "render": ["render", str(_motion(tmp_path)), "--out", str(base / "x.mp4")],
        "invert": ["invert", str(_motion(tmp_path)), "--token", "<x>", "--init-word", "walk",
                   "--out", str(base / "c.safetensors")],
        "eval-motion": ["eval", "motion", "--data", data, "--out", str(base / "e")],
        "eval-t2m": ["eval", "t2m", "--data", data, "--evaluator", data, "--out", str(base / "e")],
        "eval-tsne": ["eval", "tsne", "--data", data, "--out", str(base / "t.png")],
        "train": ["train", "vae", "--data", data, "--out", str(base / "m")],
        "generate": ["generate", "a person walks", "--out", str(base / "g")],
    }[command]
    line = refused(capsys, *argv)
    assert "--out" in line or "cannot write" in line


def test_an_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "is a file" in refused(capsys, "eval", "motion", "--data", str(tmp_path), "--out", str(afile))
    assert "is a file" in refused(capsys, "generate", "a person walks", "--out", str(afile))


@pytest.mark.parametrize("argv, expected", [
    (["eval", "tsne", "--perplexity", "-1"], "--perplexity must be a finite number > 0"),
    (["eval", "tsne", "--perplexity", "nan"], "--perplexity must be a finite number > 0"),
    (["eval", "t2m", "--evaluator", "x", "--guidance", "nan"], "--guidance must be a finite number >= 0"),
    (["eval", "motion", "--guidance", "inf"], "--guidance must be a finite number >= 0"),
    (["generate", "a person walks", "--steps", "1000"], "--steps must be an integer in 1..999 for the ddim"),
    (["generate", "a person walks", "--sampler", "lcm", "--steps", "100"], "--steps must be an integer in"),
], ids=["perplexity -1", "perplexity nan", "t2m guidance nan", "motion guidance inf", "ddim 1000 steps",
        "lcm 100 steps"])
def test_numbers_out_of_range_are_refused_with_the_valid_range(tmp_path, capsys, argv, expected):
    if argv[0] == "eval":
        argv = [*argv, "--data", str(tmp_path), "--out", str(tmp_path / ("t.png" if "tsne" in argv else "e"))]
    else:
        argv = [*argv, "--out", str(tmp_path / "g")]
    assert expected in refused(capsys, *argv)


def _break_split(root: Path) -> None:
    (root / "train.txt").write_bytes((root / "train.txt").read_bytes() + b"caf\xe9\n")


def _break_caption(root: Path) -> None:
    (root / "texts" / "000001.txt").write_bytes(b"a caf\xe9 person walks#a/DET#0.0#0.0\n")


def _binary_caption(root: Path) -> None:
    (root / "texts" / "000001.txt").write_bytes(b"\x00\x01\xff\xfe")


def _string_motion(root: Path) -> None:
    np.save(root / "new_joint_vecs" / "000001.npy", np.full((80, 263), "a"))


BROKEN_DATA = {
    "split list Latin-1": (_break_split, "train.txt:9: split list is not UTF-8 text"),
    "caption Latin-1": (_break_caption, "000001.txt:1: caption file is not UTF-8 text"),
    "caption binary": (_binary_caption, "000001.txt:1: caption file holds binary data"),
    "motion of strings": (_string_motion, "000001.npy: motion holds <U1 values, expected numbers"),
}


@pytest.mark.parametrize("case", list(BROKEN_DATA))
def test_broken_dataset_files_are_named_by_data_check_and_train(tmp_path, tiny_dataset, capsys, case):
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset, root)
    breaking, expected = BROKEN_DATA[case]
    breaking(root)
    assert main(["data", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert expected in out and "Traceback" not in out and "OK: no problems" not in out
    models = tmp_path / "models"
    line = refused(capsys, "train", "vae", "--data", str(root), "--out", str(models / "m"), "--preset", "tiny",
                   "--max-steps", "1", "--batch-size", "2")
    assert expected in line
    assert not (models / "m" / "vae").exists()


def test_data_check_with_every_clip_too_short_is_not_ok(tiny_dataset, capsys):
    assert main(["data", "check", str(tiny_dataset), "--min-length", "150"]) == 1
    out = capsys.readouterr().out
    assert "OK: no problems" not in out and "splits with no loader items" in out and "train (8 clips)" in out
    assert "--min-length must be in 1..199" in refused(capsys, "data", "check", str(tiny_dataset), "--min-length", "0")


BVH = Path(__file__).parent / "fixtures" / "01_01.bvh"


@pytest.mark.parametrize("argv, expected", [
    (["--map", '{"pelvis": 5}'], "'pelvis' maps to 5; expected a BVH joint name"),
    (["--map", '{"pelvis": {"Hips": "x"}}'], "'pelvis' maps to"),
    (["--map", '{"pelvis": []}'], "'pelvis' maps to []"),
    (["--map", '{"nose": "Hips"}'], "'nose' is not an SMPL joint name"),
    (["--map", "[1, 2]"], "expected a JSON object"),
    (["--map", '{"pelvis": '], "joint map is not valid JSON"),
    (["--units", "-1"], "must be a finite number > 0"),
    (["--units", "0"], "must be a finite number > 0"),
    (["--units", "nan"], "must be a finite number > 0"),
    (["--units", "parsecs"], "expected one of m, cm"),
], ids=["map value a number", "map weights not numbers", "map empty list", "map unknown joint", "map a list",
        "map broken JSON", "units -1", "units 0", "units nan", "units unknown"])
def test_import_bvh_refuses_a_malformed_map_or_units(tmp_path, capsys, argv, expected):
    if argv[0] == "--map":
        path = tmp_path / "map.json"
        path.write_text(argv[1])
        argv = ["--map", str(path)]
    out = tmp_path / "imported"
    assert expected in refused(capsys, "data", "import-bvh", str(BVH), "--out", str(out), *argv)
    assert not out.exists()


@pytest.mark.parametrize("argv, expected", [
    (["invert", "WALK", "--token", "<x>", "--init-word", "walk", "--seed", "-1"], "--seed must be in 0.."),
    (["invert", "WALK", "--token", "<x>", "--init-word", "walk", "--lr", "nan"], "--lr must be a finite number > 0"),
    (["eval", "t2m", "--data", "DATA", "--evaluator", "DATA", "--seed", "-5"], "--seed must be in 0.."),
    (["eval", "t2m", "--data", "DATA", "--evaluator", "DATA", "--seed", str(2**62)], "--seed must be in 0.."),
    (["eval", "motion", "--data", "DATA", "--seed", "-1"], "--seed must be in 0.."),
    (["eval", "tsne", "--data", "DATA", "--seed", "-1"], "--seed must be in 0..4294967295"),
    (["eval", "inversion", "--data", "DATA", "--evaluator", "DATA", "--guidance", "nan"], "--guidance must be"),
    (["eval", "inversion", "--data", "DATA", "--evaluator", "DATA", "--lr", "-1"], "--lr must be a finite"),
    (["eval", "inversion", "--data", "DATA", "--evaluator", "DATA", "--sampling-steps", "1000"],
     "--sampling-steps must be an integer in 1..999"),
    (["train", "vae", "--data", "DATA", "--seed", "-1"], "--seed must be in 0..4294967294"),
], ids=["invert seed", "invert lr", "t2m seed negative", "t2m seed too large", "motion seed", "tsne seed",
        "inversion guidance", "inversion lr", "inversion sampling steps", "train seed"])
def test_seeds_and_rates_out_of_range_are_refused_before_any_work(tmp_path, capsys, argv, expected):
    motion = _motion(tmp_path)
    argv = [str(motion) if arg == "WALK" else str(tmp_path) if arg == "DATA" else arg for arg in argv]
    out = tmp_path / ("t.png" if "tsne" in argv else "c.safetensors" if "invert" in argv else "out")
    assert expected in refused(capsys, *argv, "--out", str(out))
    assert not out.exists()
