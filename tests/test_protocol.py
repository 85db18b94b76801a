"""The replicated T2M protocol (`lead eval t2m`) and the latent t-SNE (`lead eval tsne`) end to end on the tiny
trained model, real fixture motions and a small randomly initialised evaluator."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lead.cli import main
from lead.data.humanml3d import Caption, TextMotionRecord
from lead.evaluation import metrics
from lead.evaluation.evaluator import EvaluatorConfig, T2MEvaluator
from lead.evaluation.protocol import T2MEvalSettings, draw_split, load_evaluator, open_split
from lead.evaluation.tsne import clip_labels, label_scores
from lead.evaluation.word_vectorizer import MiniLMWordVectors, WordVectorizer
from lead.pipeline import TextToMotionPipeline

FIXTURES = Path(__file__).parent / "fixtures" / "humanml3d-reference"
QUICK = ["--steps", "3", "--batch-size", "8", "--mm-texts", "3", "--mm-generations", "3"]
HEADER = ["Method", "FID ↓", "R-prec top-1 ↑", "R-prec top-2 ↑", "R-prec top-3 ↑", "MM-Dist ↓", "Diversity →",
          "MModality ↑"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two shared cores: one torch thread runs these tiny models faster than a contended pool."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def data(tiny_dataset, tmp_path_factory) -> Path:
    """The tiny dataset with every clip in the test split (12 items) and a labels.json."""
    root = tmp_path_factory.mktemp("eval_data") / "data"
    shutil.copytree(tiny_dataset, root)
    clips = sorted(p.stem for p in (root / "new_joint_vecs").glob("*.npy"))
    (root / "test.txt").write_text("\n".join(clips) + "\n")
    contents = ["walk", "wave", "raise", "turn"]
    labels = {clip: {"content": contents[i % 4], "style": "normal" if i < 6 else "tired"}
              for i, clip in enumerate(clips)}
    (root / "labels.json").write_text(json.dumps(labels))
    return root


@pytest.fixture(scope="module")
def model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model plus a copy of its projector as an 'ablation' component."""
    root = tmp_path_factory.mktemp("eval_model") / "model"
    shutil.copytree(tiny_model, root, ignore=shutil.ignore_patterns("runs"))
    shutil.copytree(root / "projector", root / "projector-copy")
    return root


def _stats():
    return np.load(FIXTURES / "Mean.npy"), np.load(FIXTURES / "Std.npy")


@pytest.fixture(scope="module")
def evaluator_dir(tmp_path_factory) -> Path:
    """A random evaluator in our folder format; 8-d embeddings so 12 items give full-rank covariances."""
    config = EvaluatorConfig(dim_word=384, dim_movement_enc_hidden=16, dim_movement_latent=16,
                             dim_motion_hidden=16, dim_text_hidden=16, dim_coemb_hidden=8)
    folder = tmp_path_factory.mktemp("evaluator")
    T2MEvaluator(config, *_stats(), WordVectorizer(MiniLMWordVectors()), seed=1).save(folder, extra={
        "training": {"min_length": 40}})
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory, data, model, evaluator_dir):
    """One replication, then --resume to two: the report every test below reads."""
    out = tmp_path_factory.mktemp("t2m")
    args = ["eval", "t2m", "--data", str(data), "--model", str(model), "--evaluator", str(evaluator_dir),
            "--ablation", "projector-copy", "--out", str(out), *QUICK]
    assert main([*args, "--replications", "1"]) == 0
    first = json.loads((out / "t2m.json").read_text())
    assert main([*args, "--replications", "2", "--resume"]) == 0
    return out, first, args


def test_report_has_the_paper_rows_and_columns(report):
    out, _, _ = report
    result = json.loads((out / "t2m.json").read_text())
    assert result["rows"] == ["Real", "MLD", "LEAD", "LEAD (projector-copy)"]
    assert [rep["replication"] for rep in result["replications"]] == [0, 1]
    assert [rep["seed"] for rep in result["replications"]] == [0, 1]
    assert result["sizes"] == {"items": 12, "group_size": 12, "diversity_pairs": 11, "mm_texts": 3, "mm_pairs": 2,
                              "fid": True}
    for row in result["rows"]:
        summary = result["summary"][row]
        for metric in ("fid", "mm_dist", "diversity"):
            assert summary[metric]["n"] == 2 and np.isfinite(summary[metric]["mean"])
            assert summary[metric]["conf95"] >= 0
        assert len(summary["r_precision"]["mean"]) == 3
        top = np.asarray(summary["r_precision"]["mean"])
        assert np.all((top >= 0) & (top <= 1)) and np.all(np.diff(top) >= 0)  # top-k grows with k
        if row == "Real":
            assert summary["multimodality"] is None
        else:
            assert summary["multimodality"]["n"] == 2 and summary["multimodality"]["mean"] > 0
    # the same latents through the same projector weights: the copy's row equals LEAD's exactly
    for rep in result["replications"]:
        assert rep["rows"]["LEAD (projector-copy)"] == rep["rows"]["LEAD"]
        assert rep["rows"]["LEAD"]["fid"] != rep["rows"]["MLD"]["fid"]
    assert not (out / "t2m.partial.json").exists()

    table = (out / "t2m.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| Method"))
    assert [cell.strip() for cell in header.strip().strip("|").split("|")] == HEADER
    main_table, motion_part = table.split("Motion quality", 1)
    body = {line.split("|")[1].strip(): line for line in main_table.splitlines() if line.startswith("| ")}
    assert set(body) >= {"Real", "MLD", "LEAD", "LEAD (projector-copy)"}
    motion_rows = {line.split("|")[1].strip() for line in motion_part.splitlines() if line.startswith("| ")}
    assert motion_rows >= {"Method", "Real", "MLD", "LEAD"}
    assert set(result["replications"][0]["motion"]) == {"Real", "MLD", "LEAD", "LEAD (projector-copy)"}
    assert "motion" not in result["replications"][1]
    assert body["Real"].rstrip(" |").endswith("-") and body["MLD"].count("±") == 7
    fid = result["summary"]["MLD"]["fid"]
    assert f"{fid['mean']:.3f}±{fid['conf95']:.3f}" in body["MLD"]
    assert "smaller than the published protocol" in table


def test_real_row_scores_real_motions_against_their_captions(report, data, model, evaluator_dir):
    out, _, _ = report
    result = json.loads((out / "t2m.json").read_text())
    pipeline = TextToMotionPipeline.from_pretrained(model)
    evaluator, info = load_evaluator(evaluator_dir)
    assert info["min_length"] == 40 and result["resolved"]["min_length"] == 40
    dataset = open_split(data, T2MEvalSettings(), evaluator, info, pipeline)
    for rep in result["replications"]:
        r = rep["replication"]
        draw, other = draw_split(dataset, evaluator, 2 * r, 8), draw_split(dataset, evaluator, 2 * r + 1, 8)
        top, mm_dist = metrics.matching_metrics(draw["text"], draw["motion"], 3, 12, seed=r)
        real = rep["rows"]["Real"]
        np.testing.assert_allclose(real["r_precision"], top)
        assert real["mm_dist"] == pytest.approx(mm_dist)
        assert real["fid"] == pytest.approx(metrics.fid(draw["motion"], other["motion"]))
        assert real["diversity"] == pytest.approx(metrics.diversity(draw["motion"], 11, seed=r))
    # the real crops of a draw are the raw dataset features: embedding one by hand gives the same vector
    dataset.set_epoch(0)
    item = dataset[0]
    raw = np.load(data / "new_joint_vecs" / f"{item['name']}.npy")
    assert any(np.allclose(raw[s : s + item["length"]], item["features"].numpy())
               for s in range(len(raw) - item["length"] + 1))
    own = evaluator.embed_motions(item["features"][None], [item["length"]]).numpy()[0]
    np.testing.assert_allclose(draw_split(dataset, evaluator, 0, 8)["motion"][0], own, rtol=1e-4, atol=1e-5)


def test_resume_keeps_finished_replications_and_refuses_mismatches(report, tmp_path, capsys):
    out, first, args = report
    result = json.loads((out / "t2m.json").read_text())
    assert result["replications"][0] == first["replications"][0]  # read back, not recomputed
    # an interrupted run leaves only the partial file; without --resume it is not silently overwritten
    partial = tmp_path / "t2m.partial.json"
    partial.write_text(json.dumps({k: v for k, v in first.items() if k != "summary"}))
    copy = [a if a != str(out) else str(tmp_path) for a in args]
    assert main([*copy, "--replications", "2"]) == 2
    assert "--resume" in capsys.readouterr().err
    before = (out / "t2m.json").read_bytes()
    assert main([*args, "--replications", "1", "--resume"]) == 2  # would drop a finished replication
    assert "already holds 2" in capsys.readouterr().err and (out / "t2m.json").read_bytes() == before
    assert not (tmp_path / "t2m.json").exists()  # no final report from a refused run
    assert partial.exists()


def test_resume_with_other_settings_names_them(report, tmp_path, capsys):
    out, first, args = report
    (tmp_path / "t2m.partial.json").write_text(json.dumps(first))
    copy = [a if a != str(out) else str(tmp_path) for a in args]
    assert main([*copy, "--replications", "2", "--steps", "4", "--resume"]) == 2
    assert "settings" in capsys.readouterr().err


def test_clear_errors(tmp_path, data, model, evaluator_dir, capsys):
    base = ["eval", "t2m", "--data", str(data), "--evaluator", str(evaluator_dir), "--out", str(tmp_path),
            "--replications", "1", *QUICK]
    no_projector = tmp_path / "mld-only"
    shutil.copytree(model, no_projector, ignore=shutil.ignore_patterns("projector*"))
    assert main([*base, "--model", str(no_projector)]) == 2
    assert "no projector/" in capsys.readouterr().err

    kit = tmp_path / "kit-evaluator"
    config = EvaluatorConfig(dataset="kit", dim_pose=251, dim_word=384, dim_movement_enc_hidden=8,
                             dim_movement_latent=8, dim_motion_hidden=8, dim_text_hidden=8, dim_coemb_hidden=8)
    T2MEvaluator(config, np.zeros(251), np.ones(251), WordVectorizer(MiniLMWordVectors())).save(kit)
    assert main([*base[:5], str(kit), *base[6:], "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "251" in err and "263" in err

    assert main([*base, "--model", str(model), "--split", "holdout"]) == 2
    assert "holdout.txt" in capsys.readouterr().err
    assert main([*base, "--model", str(model), "--ablation", "projector-none"]) == 2
    assert "projector-none" in capsys.readouterr().err
    assert not list(tmp_path.glob("t2m*.json"))


def _fake_glove(folder: Path, dim: int = 300) -> Path:
    words = ["sos", "eos", "unk", "a", "person", "walks", "forward", "waves", "with", "the", "right", "hand"]
    folder.mkdir(parents=True)
    np.save(folder / "our_vab_data.npy", np.random.default_rng(0).normal(size=(len(words), dim)).astype(np.float32))
    (folder / "our_vab_words.pkl").write_bytes(pickle.dumps(words))
    (folder / "our_vab_idx.pkl").write_bytes(pickle.dumps({w: i for i, w in enumerate(words)}))
    return folder


def test_published_evaluator_format_runs_the_protocol(tmp_path, data, model):
    """A finest.tar in the published layout + meta mean/std + GloVe folder: the MLD row, one replication on
    four clips (the published sizes are slow on CPU). FID of 4 items in 512-d embeddings is undefined (singular
    covariances): not computed, and the report says so."""
    small = tmp_path / "data"
    shutil.copytree(data, small)
    (small / "test.txt").write_text("\n".join(sorted(p.stem for p in (small / "new_joint_vecs").glob("*.npy"))[:4]))
    checkpoint = tmp_path / "finest.tar"
    T2MEvaluator(EvaluatorConfig.official("t2m"), seed=2).save_official(checkpoint)
    meta = tmp_path / "meta"
    meta.mkdir()
    for name, array in zip(("mean.npy", "std.npy"), _stats()):
        np.save(meta / name, array)
    out = tmp_path / "out"
    assert main(["eval", "t2m", "--data", str(small), "--model", str(model), "--evaluator", str(checkpoint),
                 "--evaluator-meta", str(meta), "--glove", str(_fake_glove(tmp_path / "glove")),
                 "--no-projector", "--replications", "1", "--mm-texts", "0", "--steps", "2",
                 "--min-length", "40", "--out", str(out)]) == 0
    result = json.loads((out / "t2m.json").read_text())
    assert result["evaluator"]["format"] == "official" and result["rows"] == ["Real", "MLD"]
    assert result["summary"]["MLD"]["multimodality"] is None
    assert 0 <= result["summary"]["MLD"]["r_precision"]["mean"][2] <= 1
    assert result["sizes"]["items"] == 4 and result["evaluator"]["embedding_dim"] == 512
    assert result["summary"]["MLD"]["fid"] is None and result["summary"]["Real"]["fid"] is None
    assert "FID not computed" in (out / "t2m.md").read_text()


def test_tsne_writes_png_and_scores(tmp_path, data, model, capsys):
    png = tmp_path / "fig" / "tsne.png"
    assert main(["eval", "tsne", "--data", str(data), "--model", str(model), "--out", str(png),
                 "--max-clips", "10", "--perplexity", "3"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(png.with_suffix(".json").read_text())
    assert summary["clips"] == 10 and summary["labels"] == "labels.json:content"
    assert sum(summary["label_counts"].values()) == 10
    for space in ("vae", "projected"):
        scores = summary["spaces"][space]
        assert -1 <= scores["silhouette"] <= 1 and 0 <= scores["knn_accuracy"] <= 1
    assert summary["spaces"]["projected"]["dim"] != summary["spaces"]["vae"]["dim"]
    retrieval = summary["caption_retrieval"]
    assert 0 <= retrieval["top1"] <= retrieval["top3"] <= 1 and retrieval["captions"] >= 2
    assert "silhouette" in capsys.readouterr().out
    assert not list(png.parent.glob(".tsne*"))  # no temporary left behind
    other = tmp_path / "fig" / "copy.png"
    assert main(["eval", "tsne", "--data", str(data), "--model", str(model), "--out", str(other),
                 "--max-clips", "10", "--perplexity", "3", "--projector", "projector-copy"]) == 0
    assert json.loads(other.with_suffix(".json").read_text())["caption_retrieval"] == retrieval


def test_label_scores_separate_clusters_from_noise():
    rng = np.random.default_rng(0)
    labels = ["a"] * 20 + ["b"] * 20
    clustered = np.concatenate([rng.normal(0, 0.1, (20, 4)), rng.normal(5, 0.1, (20, 4))])
    mixed = rng.normal(0, 1, (40, 4))
    good, bad = label_scores(clustered, labels), label_scores(mixed, labels)
    assert good["silhouette"] > 0.9 and good["knn_accuracy"] == 1.0
    assert abs(bad["silhouette"]) < 0.2 and bad["knn_accuracy"] < 0.8


def test_labels_fall_back_to_the_first_verb(tiny_dataset):
    records = [TextMotionRecord("x", "000000", 0, 40, (Caption("a man waves", ("a/DET", "man/NOUN", "wave/VERB")),)),
               TextMotionRecord("y", "000001", 0, 40, (Caption("someone kicked the ball", ()),))]
    labels, source = clip_labels(tiny_dataset, records)
    assert labels == ["wave", "kicked"] and source == "first verb of the caption"


def test_several_step_counts_give_one_row_set_each(tmp_path, data, model, evaluator_dir):
    """`--sampler dpm++ --steps 2 3`: MLD and LEAD rows at each step count, from one sampling per count;
    a row at 3 steps equals the single-count run at 3 steps."""
    common = ["eval", "t2m", "--data", str(data), "--model", str(model), "--evaluator", str(evaluator_dir),
              "--batch-size", "8", "--mm-texts", "0", "--replications", "1", "--sampler", "dpm++"]
    assert main([*common, "--steps", "2", "3", "--out", str(tmp_path / "many")]) == 0
    assert main([*common, "--steps", "3", "--out", str(tmp_path / "one")]) == 0
    many = json.loads((tmp_path / "many" / "t2m.json").read_text())
    one = json.loads((tmp_path / "one" / "t2m.json").read_text())
    rows = list(many["summary"])
    assert rows == ["Real", "MLD · dpm++ 2 steps", "LEAD · dpm++ 2 steps", "MLD · dpm++ 3 steps",
                    "LEAD · dpm++ 3 steps"]
    for name in ("MLD", "LEAD"):
        a = many["replications"][0]["rows"][f"{name} · dpm++ 3 steps"]
        b = one["replications"][0]["rows"][name]
        assert a["r_precision"] == pytest.approx(b["r_precision"]) and a["mm_dist"] == pytest.approx(b["mm_dist"])
    assert many["replications"][0]["rows"]["MLD · dpm++ 2 steps"]["mm_dist"] != pytest.approx(
        many["replications"][0]["rows"]["MLD · dpm++ 3 steps"]["mm_dist"])


def test_padding_mld_changes_only_motions_as_long_as_the_batch(evaluator_dir):
    """--padding mld (MLD's evaluation: generations padded to the batch's longest) against t2m (196):
    a motion shorter than the batch is embedded the same; the longest one differs, because the
    evaluator's convolutions see the tensor's edge instead of zero frames followed by more positions."""
    evaluator = T2MEvaluator.load(evaluator_dir)
    clip = np.load(FIXTURES / "new_joint_vecs" / "012314.npy")
    batch = np.zeros((2, 120, clip.shape[1]), np.float32)
    batch[0] = clip[:120]
    batch[1, :60] = clip[:60]
    lengths = np.array([120, 60])
    t2m = evaluator.embed_motions(batch, lengths)
    mld = evaluator.embed_motions(batch, lengths, pad_to_max=False)
    torch.testing.assert_close(t2m[1], mld[1], rtol=1e-5, atol=1e-6)
    assert (t2m[0] - mld[0]).abs().max() > 1e-4


def test_padding_option_is_recorded(tmp_path, data, model, evaluator_dir):
    out = tmp_path / "mld-padding"
    assert main(["eval", "t2m", "--data", str(data), "--model", str(model), "--evaluator", str(evaluator_dir),
                 "--out", str(out), "--paths", "mld", "--replications", "1", "--padding", "mld", *QUICK]) == 0
    assert json.loads((out / "t2m.json").read_text())["settings"]["padding"] == "mld"
