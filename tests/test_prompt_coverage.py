"""Issue 28, prompt coverage: the shipped model's vocabulary card, the warning in the Python API, `lead generate`
and the server, `lead info`, and the warning's precision and recall on the listed prompts."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from lead.cli import main
from lead.errors import LeadError
from lead.models.bundle import default_model_path
from lead.models.vocabulary import FILE

GENERATE = ["--seconds", "1", "--steps", "2", "--format", "none", "--no-bvh"]


@pytest.fixture(scope="module")
def pipe():
    from lead.pipeline import TextToMotionPipeline

    return TextToMotionPipeline.from_pretrained()


def test_the_shipped_card_is_small_and_matches_the_text_encoder(pipe):
    assert (default_model_path() / FILE).stat().st_size < 1_000_000
    card = pipe.vocabulary()
    assert card is not None and card.text_encoder == pipe.text_encoder.identity
    assert {"walk", "run", "wave-left-hand", "walk-back"} <= set(card.supported)
    assert not {"kick", "punch", "bow"} & set(card.supported)


@pytest.mark.parametrize("text, words", [
    ("a person jumps", "unlike anything this model was trained on"),
    ("a person sits down", "unlike anything"),
    ("una persona camina hacia adelante", "unlike anything"),
    ("a person kicks with the right leg", "reads as 'kick', which this model saw in 2 training clip(s) and did not"),
    ("the person bows politely", "reads as 'bow'"),
])
def test_out_of_vocabulary_prompts_warn_naming_what_the_model_does(pipe, text, words):
    (coverage,) = pipe.prompt_coverage([text])
    assert coverage.warning is not None and words in coverage.warning
    assert "Nearest things it does: " in coverage.warning and len(coverage.nearby) == 3
    assert all(name in pipe.vocabulary().supported for name in coverage.nearby)


@pytest.mark.parametrize("text", ["a person walks forward", "someone strolls forward", "a man jogs ahead",
                                  "an elderly person walks forward slowly", "a woman waves her left hand"])
def test_in_vocabulary_prompts_do_not_warn(pipe, text):
    (coverage,) = pipe.prompt_coverage([text])
    assert coverage.warning is None, coverage.warning


def test_the_python_api_carries_the_coverage_on_its_output(pipe):
    output = pipe(["a person jumps", "a person walks forward"], 20, num_samples=2, num_inference_steps=2)
    assert len(output.coverage) == 4
    assert [item.warning is not None for item in output.coverage] == [True, True, False, False]
    assert len(output.warnings) == 1 and "'a person jumps'" in output.warnings[0]


def test_a_learned_token_is_not_checked(pipe):
    assert pipe.prompt_coverage(["a person <stomp> forward"]) == [None]


def test_generate_warns_before_sampling_and_still_runs(tmp_path, capsys):
    assert main(["generate", "a person jumps", *GENERATE, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert err.count("lead: warning: 'a person jumps' is unlike anything") == 1
    assert main(["generate", "a person walks forward", *GENERATE, "--out", str(tmp_path / "b")]) == 0
    assert "lead: warning" not in capsys.readouterr().err


def test_a_model_without_a_card_checks_nothing_and_a_damaged_card_is_one_line(tmp_path, capsys):
    from lead.pipeline import TextToMotionPipeline

    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    (model / FILE).unlink()
    assert TextToMotionPipeline.from_pretrained(model).prompt_coverage(["a person jumps"]) == [None]
    assert main(["info", "--model", str(model)]) == 0
    assert "vocabulary  none recorded" in capsys.readouterr().out
    (model / FILE).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    with pytest.raises(LeadError, match="not a readable vocabulary card"):
        TextToMotionPipeline.from_pretrained(model).prompt_coverage(["a person jumps"])


def test_info_lists_vocabulary_styles_and_licence(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "does        raise up left hand (356)" in out and "walk (176)" in out
    assert "not learnt  bow (11)" in out and "kick (2)" in out
    assert "styles      active (473)" in out and "elderly (261)" in out
    assert "licence     CC BY-NC 4.0" in out
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["vocabulary"]["does"]["run"] == 262 and data["components"] == ["vae", "denoiser", "projector", "lcm"]


def test_the_server_answers_with_the_warning(pipe):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from lead.serve import create_app

    with TestClient(create_app(pipe)) as client:
        answer = client.post("/api/generate", json={"text": "a person jumps", "steps": 2, "seconds": 1}).json()
        assert "unlike anything" in answer["warning"]
        answer = client.post("/api/generate", json={"text": "a person walks forward", "steps": 2, "seconds": 1})
        assert answer.json()["warning"] is None


def test_warning_precision_and_recall_on_the_listed_prompts(pipe):
    """benchmarks/prompt_coverage.py's prompt set: in and out of vocabulary, paraphrases, other languages."""
    path = Path(__file__).parent.parent / "benchmarks" / "prompt_coverage.py"
    spec = importlib.util.spec_from_file_location("prompt_coverage", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    row = bench.evaluate(pipe, bench.IN_TUNED + bench.IN_HELD_OUT, bench.OUT_TUNED + bench.OUT_HELD_OUT)
    assert row["precision"] >= 0.9 and row["recall"] >= 0.9, row["errors"]
    held_out = bench.evaluate(pipe, bench.IN_HELD_OUT, bench.OUT_HELD_OUT)
    assert held_out["precision"] >= 0.9 and held_out["recall"] >= 0.9, held_out["errors"]


def test_train_denoiser_writes_the_card_when_the_data_has_labels(tmp_path, tiny_model, tiny_dataset, capsys):
    """Bandai-style data (labels.json: content, style, split per clip) gives the trained model a card."""
    from lead.io import read_text, text_lines
    from lead.models.vocabulary import VocabularyCard

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    train = [line for line in text_lines(read_text(data / "train.txt")) if line.strip()]
    labels = {clip: {"content": "walk" if i % 4 else "kick", "style": "normal", "split": "train"}
              for i, clip in enumerate(train)}
    (data / "labels.json").write_text(json.dumps(labels))
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("runs", "denoiser", FILE))
    assert main(["train", "denoiser", "--data", str(data), "--out", str(model), "--preset", "tiny", "--batch-size",
                 "4", "--max-steps", "1"]) == 0
    card = VocabularyCard.load(model)
    assert card is not None and card.contents["walk"]["clips"] == len(train) - len(train[::4])
    assert card.supported == (["walk"] if len(train) - len(train[::4]) >= 10 else [])
    assert card.contents["kick"]["supported"] is (len(train[::4]) >= 10)


def test_train_denoiser_without_labels_writes_no_card(tmp_path, tiny_model, tiny_dataset):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("runs", "denoiser", FILE))
    assert main(["train", "denoiser", "--data", str(tiny_dataset), "--out", str(model), "--preset", "tiny",
                 "--batch-size", "4", "--max-steps", "1"]) == 0
    assert not (model / FILE).exists()
