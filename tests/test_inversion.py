"""Motion textual inversion on the tiny trained model and real fixture motions: only v* learns, the
objective goes down, concept files round-trip, BVH examples, generation with the concept, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from lead.cli import main
from lead.errors import LeadError
from lead.inversion import (
    OBJECTIVES,
    Concept,
    ExampleMotion,
    MotionInversion,
    invert,
    load_concept,
    load_example,
    save_concept,
)
from lead.inversion.examples import crop_length
from lead.pipeline import TextToMotionPipeline

FIXTURES = Path(__file__).parent / "fixtures"
FEATURES = FIXTURES / "humanml3d-reference" / "new_joint_vecs" / "012314.npy"
ELDERLY_BVH = FIXTURES / "bandai-namco" / "dataset-2" / "data" / "dataset-2_walk_elderly_009.bvh"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two shared cores: torch's default thread pool spins against the other jobs and runs these tiny
    models ~10x slower than one thread does."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def pipeline(tiny_model):
    return TextToMotionPipeline.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def example() -> ExampleMotion:
    return load_example(FEATURES)


def _frozen_modules(pipeline) -> dict[str, torch.nn.Module]:
    return {"text": pipeline.text_encoder, "vae": pipeline.vae, "denoiser": pipeline.denoiser,
            "projector": pipeline.projector}


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_gradients_reach_only_the_placeholder_vector(pipeline, example, objective):
    inversion = MotionInversion(pipeline, [example], "<grad>", "walks", objective)
    batch = inversion.sample_batch(np.random.default_rng(0), 4)
    assert batch.latents.shape[0] == 4 and len(batch.prompts) == 4
    assert all("<grad>" in prompt for prompt in batch.prompts)
    vector = inversion.initial.clone().requires_grad_(True)
    inversion.loss(vector, batch).backward()
    assert vector.grad is not None and vector.grad.abs().sum() > 0
    for name, module in _frozen_modules(pipeline).items():
        for parameter_name, parameter in module.named_parameters():
            assert parameter.grad is None or not parameter.grad.any(), f"{name}.{parameter_name} got a gradient"


def test_run_changes_only_v_star(pipeline, example):
    table = pipeline.text_encoder.input_embeddings.weight.detach().clone()
    states = {name: {k: v.clone() for k, v in module.state_dict().items()}
              for name, module in _frozen_modules(pipeline).items()}
    inversion = MotionInversion(pipeline, [example], "<only>", "walks", "lead")
    result = inversion.run(steps=6, lr=1e-2, seed=0)
    assert len(result.losses) == 6 and np.isfinite(result.losses).all()
    assert not torch.equal(result.embedding, result.initial)  # v* moved
    # The initial vector is the init word's input embedding; the table itself is untouched.
    word_ids = pipeline.text_encoder.tokenizer("walks", add_special_tokens=False)["input_ids"]
    torch.testing.assert_close(result.initial, table[word_ids].mean(0))
    assert torch.equal(pipeline.text_encoder.input_embeddings.weight, table)
    for name, module in _frozen_modules(pipeline).items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, states[name][key]), f"{name}.{key} changed"


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_optimising_lowers_the_objective_on_fixed_noise(pipeline, example, objective):
    """Same crops, noise, timesteps and prompts before/after: Adam steps on v* lower the objective."""
    inversion = MotionInversion(pipeline, [example], "<fixed>", "walks", objective)
    batch = inversion.sample_batch(np.random.default_rng(5), 4)
    vector = inversion.initial.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([vector], lr=1e-2)
    with torch.no_grad():
        before = inversion.loss(vector, batch).item()
    for _ in range(8):
        optimizer.zero_grad()
        inversion.loss(vector, batch).backward()
        optimizer.step()
    with torch.no_grad():
        after = inversion.loss(vector, batch).item()
    assert after < before * 0.999, (before, after)


def test_run_lowers_the_objective_on_held_out_draws(pipeline, example):
    result = MotionInversion(pipeline, [example], "<held>", "walks", "lead").run(steps=30, lr=2e-2, seed=0)
    assert result.objective_after < result.objective_before


def test_predicted_original_of_the_true_noise_is_the_clean_latent(pipeline, example):
    inversion = MotionInversion(pipeline, [example], "<f>", "walks", "mld")
    batch = inversion.sample_batch(np.random.default_rng(1), 4)
    recovered = inversion.predicted_original(batch.noisy, batch.noise, batch.timesteps)
    torch.testing.assert_close(recovered, batch.latents, atol=1e-3, rtol=1e-3)


def test_crops_are_multiples_of_four_and_long_enough():
    rng = np.random.default_rng(0)
    lengths = [crop_length(170, 196, rng) for _ in range(200)]
    assert all(n % 4 == 0 and 40 <= n <= 170 for n in lengths)
    assert len(set(lengths)) > 10
    assert crop_length(31, 196, rng) == 31  # shorter than 40: the whole clip
    assert crop_length(300, 196, rng) <= 196


def test_concept_round_trip_is_exact(tmp_path, pipeline, example):
    concept = invert(pipeline, [example], "<round>", "walks", "mld", steps=3, lr=1e-2, seed=4)
    path = save_concept(tmp_path / "round.safetensors", concept)
    loaded = load_concept(path)
    assert torch.equal(loaded.embedding, concept.embedding)
    assert loaded.token == "<round>" and loaded.text_encoder_identity == pipeline.text_encoder.identity
    assert (loaded.init_word, loaded.objective, loaded.steps, loaded.lr, loaded.seed) == ("walks", "mld", 3, 1e-2, 4)
    assert loaded.examples == ["012314.npy"] and len(loaded.losses) == 3
    assert loaded.model["sha256"] == pipeline.identity["sha256"] and loaded.lead_version


def test_broken_concept_files_are_clear_errors(tmp_path):
    with pytest.raises(LeadError, match="not found"):
        load_concept(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a safetensors file")
    with pytest.raises(LeadError, match="not a readable safetensors"):
        load_concept(garbage)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"embedding": torch.zeros(4)}, str(foreign))
    with pytest.raises(LeadError, match="not a lead concept"):
        load_concept(foreign)
    no_token = tmp_path / "no_token.safetensors"
    save_file({"embedding": torch.zeros(4)}, str(no_token), metadata={"format": "lead-concept",
                                                                      "text_encoder_identity": "x"})
    with pytest.raises(LeadError, match="token"):
        load_concept(no_token)
    no_vector = tmp_path / "no_vector.safetensors"
    save_file({"other": torch.zeros(4)}, str(no_vector), metadata={"format": "lead-concept", "token": "<a>",
                                                                   "text_encoder_identity": "x"})
    with pytest.raises(LeadError, match="no 'embedding'"):
        load_concept(no_vector)


def test_bvh_example_is_retargeted_to_features():
    example = load_example(ELDERLY_BVH, joint_map="bandai")
    assert example.name == ELDERLY_BVH.name
    assert example.features.ndim == 2 and example.features.shape[1] == 263 and example.features.shape[0] > 40
    assert np.isfinite(example.features).all()


def test_invert_and_generate_with_the_concept_via_the_cli(tmp_path, tiny_model, pipeline):
    concept_path = tmp_path / "elderly.safetensors"
    code = main(["invert", str(ELDERLY_BVH), "--token", "<elderly>", "--init-word", "old", "--model",
                 str(tiny_model), "--steps", "4", "--lr", "0.02", "--map", "bandai", "--out", str(concept_path),
                 "--quiet"])
    assert code == 0
    concept = load_concept(concept_path)
    assert concept.token == "<elderly>" and concept.objective == "lead" and concept.steps == 4
    assert concept.examples == [ELDERLY_BVH.name]
    out = tmp_path / "generated"
    code = main(["generate", "a person <elderly> walks", "--concept", str(concept_path), "--model",
                 str(tiny_model), "--frames", "40", "--steps", "3", "--format", "none", "--no-bvh",
                 "--out", str(out)])
    assert code == 0
    manifest = json.loads((out / "samples.json").read_text())
    assert manifest["settings"]["concepts"] == ["<elderly>"]
    generated = np.load(out / manifest["samples"][0]["files"]["features"])
    assert generated.shape == (40, 263) and np.isfinite(generated).all()
    # The learned vector is what conditions the generation: the init word's vector gives another motion.
    fresh = TextToMotionPipeline.from_pretrained(tiny_model)
    learned = fresh.load_concept(concept_path)
    with_concept = fresh("a person <elderly> walks", 40, seed=0, num_inference_steps=3,
                         concepts=[learned]).features[0]
    np.testing.assert_allclose(with_concept, generated, atol=1e-5)
    init = {"<elderly>": fresh.text_encoder.add_placeholder("<elderly>", "old")}
    with_init = fresh("a person <elderly> walks", 40, seed=0, num_inference_steps=3, concepts=init).features[0]
    assert not np.allclose(with_init, with_concept)
    # Concepts are per call: the pipeline keeps none, so a later call without it is refused.
    with pytest.raises(LeadError, match="no concept"):
        fresh("a person <elderly> walks", 40, seed=0, num_inference_steps=3)
    with pytest.raises(LeadError, match="two concepts"):
        fresh("a person <elderly> walks", 40, num_inference_steps=3, concepts=[learned, learned])


def test_concept_of_another_text_encoder_is_refused(tmp_path, tiny_model, pipeline):
    path = tmp_path / "clip_concept.safetensors"
    save_concept(path, Concept("<other>", torch.zeros(768), "clip:openai/clip-vit-large-patch14"))
    with pytest.raises(LeadError, match="text encoder"):
        TextToMotionPipeline.from_pretrained(tiny_model).load_concept(path)
    code = main(["generate", "a person <other> walks", "--concept", str(path), "--model", str(tiny_model),
                 "--out", str(tmp_path / "out"), "--format", "none"])
    assert code == 2


def test_lead_objective_without_projector_is_a_clear_error(tmp_path, tiny_model, capsys):
    model = tmp_path / "no_projector"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("projector", "runs"))
    pipeline = TextToMotionPipeline.from_pretrained(model)
    with pytest.raises(LeadError, match="projector"):
        MotionInversion(pipeline, [load_example(FEATURES)], "<p>", "walks", "lead")
    code = main(["invert", str(FEATURES), "--token", "<p>", "--init-word", "walks", "--model", str(model),
                 "--out", str(tmp_path / "p.safetensors"), "--quiet"])
    assert code == 2 and "projector" in capsys.readouterr().err
    assert not (tmp_path / "p.safetensors").exists()


@pytest.mark.parametrize("token", ["walk", "[CLS]", "two words"])
def test_placeholder_must_be_a_new_single_word(pipeline, example, token):
    with pytest.raises(LeadError, match="vocabulary|one word"):
        MotionInversion(pipeline, [example], token, "walks", "mld")


@pytest.mark.parametrize(
    ("name", "array", "message"),
    [("short.npy", np.zeros((2, 263), np.float32), "at least 4"),
     ("wide.npy", np.zeros((50, 100), np.float32), "expected HumanML3D features"),
     ("nan.npy", np.full((50, 263), np.nan, np.float32), "NaN")],
)
def test_bad_examples_are_clear_errors(tmp_path, name, array, message):
    np.save(tmp_path / name, array)
    with pytest.raises(LeadError, match=message):
        load_example(tmp_path / name)
    with pytest.raises(LeadError, match="unsupported file type"):
        load_example(Path(__file__))


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    from lead.evaluation.evaluator import EvaluatorConfig, T2MEvaluator
    from lead.evaluation.word_vectorizer import MiniLMWordVectors, WordVectorizer

    config = EvaluatorConfig(dim_word=384, dim_motion_hidden=32, dim_text_hidden=16, dim_coemb_hidden=16,
                             dim_movement_enc_hidden=16, dim_movement_latent=16)
    stats = [np.load(FIXTURES / "humanml3d-reference" / name) for name in ("Mean.npy", "Std.npy")]
    folder = tmp_path_factory.mktemp("evaluator")
    T2MEvaluator(config, *stats, WordVectorizer(MiniLMWordVectors()), seed=1).save(folder)
    return folder


def test_subset_protocol_writes_table_3(tmp_path, tiny_model, tiny_dataset, evaluator):
    out = tmp_path / "subset"
    code = main(["eval", "inversion",
        "--model", str(tiny_model), "--evaluator", str(evaluator), "--data", str(tiny_dataset), "--split", "train",
        "--num-motions", "4", "--steps", "2", "--samples", "2", "--sampling-steps", "2", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "inversion_subset.json").read_text())
    names = [row["name"] for row in report["rows"]]
    assert names == ["Real", "init word 'moves'", "init word 'moves' w/ project", "MTI_feat", "MTI_feat w/ project",
                     "MTI_mld", "MTI_mld w/ project", "MTI_lead", "MTI_lead w/ project"]
    assert report["num_motions"] == 4 and report["group_size"] == 4 and len(report["clips"]) == 4
    for row in report["rows"][1:]:
        assert 0.0 <= row["r_precision_top1"] <= row["r_precision_top3"] <= 1.0
        assert row["mm_dist"] > 0 and np.isfinite(row["fid"])
    assert len(list((out / "concepts").glob("*.safetensors"))) == 12
    table = (out / "inversion_subset.md").read_text()
    assert "| Real |" in table and "MTI_lead | ✓" in table


def test_style_protocol_compares_with_held_out_clips(tmp_path, tiny_model, evaluator):
    out = tmp_path / "style"
    data = FIXTURES / "bandai-namco" / "dataset-2" / "data"
    code = main(["eval", "inversion",
        "--model", str(tiny_model), "--evaluator", str(evaluator), "--style-clips", str(ELDERLY_BVH),
        "--heldout-clips", str(data / "dataset-2_walk-turn-left_exhausted_038.bvh"),
        str(data / "dataset-2_walk_normal_013.bvh"),
        "--objectives", "mld,lead", "--steps", "2", "--samples", "3", "--sampling-steps", "2", "--video", "none",
        "--map", "bandai", "--init-word", "old", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "inversion_style.json").read_text())
    names = [row["name"] for row in report["rows"]]
    assert names[0] == "Style clips" and "MTI_lead w/ project" in names and "MTI_mld" in names
    assert len(names) == 1 + 2 + 2 * 2  # style clips, init word (w/o, w/ project), two objectives x both
    assert all(np.isfinite(row["nearest_distance"]) and row["nearest_distance"] > 0 for row in report["rows"])
    assert report["length"] % 4 == 0 and report["heldout_clips"][0].endswith(".bvh")
    assert (out / "concepts" / "style_lead.safetensors").is_file()



def test_eval_inversion_needs_data_or_style_clips(tmp_path, capsys):
    code = main(["eval", "inversion", "--evaluator", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 2 and "--data" in capsys.readouterr().err
    code = main(["eval", "inversion", "--evaluator", str(tmp_path), "--out", str(tmp_path / "out"), "--data",
                 str(tmp_path), "--objectives", "lead,bogus"])
    assert code == 2 and "bogus" in capsys.readouterr().err


def test_concept_of_the_wrong_width_is_refused_at_load(tmp_path, tiny_model, pipeline):
    identity = pipeline.text_encoder.identity
    path = tmp_path / "narrow.safetensors"
    save_concept(path, Concept("<narrow>", torch.zeros(7), identity))
    with pytest.raises(LeadError, match="takes 384-d word embeddings"):
        TextToMotionPipeline.from_pretrained(tiny_model).load_concept(path)


def test_a_known_word_as_token_is_refused_before_anything_is_written(tmp_path, tiny_model, capsys):
    """A concept on `walks` would silently replace the word in every prompt."""
    out = tmp_path / "walks.safetensors"
    code = main(["invert", str(ELDERLY_BVH), "--token", "walks", "--init-word", "walk", "--model",
                 str(tiny_model), "--steps", "2", "--map", "bandai", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "'walks'" in err[0] and "already" in err[0], err
    assert not out.exists()


def test_a_prompt_token_without_its_concept_is_refused(tmp_path, tiny_model, pipeline, capsys):
    with pytest.raises(LeadError, match="uses <stomp>, but no concept defines it"):
        pipeline.encode_prompt(["a person <stomp> forward"])
    out = tmp_path / "none"
    code = main(["generate", "a person <stomp> forward", "--model", str(tiny_model), "--frames", "40",
                 "--steps", "2", "--format", "none", "--no-bvh", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "--concept" in err[-1], err
    assert not out.exists()
