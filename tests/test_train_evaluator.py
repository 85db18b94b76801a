"""Training a tiny evaluator end to end through `lead train evaluator` on a folder built from the fixture."""

import csv
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from lead.cli import main
from lead.evaluation.evaluator import T2MEvaluator
from lead.evaluation.train import contrastive_loss
from lead.evaluation.word_vectorizer import tokenize_caption

FIXTURE = Path(__file__).parent / "fixtures" / "humanml3d-reference"
VERBS = ["walks", "runs", "jumps", "turns", "waves"]
WAYS = ["forward", "backward", "left", "right", "slowly", "quickly", "up", "down"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """40 clips: windows of the real HumanML3D sample, each with its own offset on the joint positions so
    that motions differ, and one distinct caption each (texts/*.txt lines `caption#tokens#0.0#0.0`)."""
    root = tmp_path_factory.mktemp("tiny-hml")
    (root / "new_joint_vecs").mkdir()
    (root / "texts").mkdir()
    clip = np.load(FIXTURE / "new_joint_vecs" / "012314.npy")
    names = []
    for i in range(40):
        name = f"{i:06d}"
        motion = clip[i : i + 128].copy()
        motion[:, 4:67] += 0.05 * (i - 20)
        np.save(root / "new_joint_vecs" / f"{name}.npy", motion)
        caption = f"a person {VERBS[i % 5]} {WAYS[i // 5]}"
        tokens = " ".join(tokenize_caption(caption))
        (root / "texts" / f"{name}.txt").write_text(f"{caption}#{tokens}#0.0#0.0\n")
        names.append(name)
    for split in ("train", "val", "test"):
        (root / f"{split}.txt").write_text("\n".join(names) + "\n")
    np.save(root / "Mean.npy", np.load(FIXTURE / "Mean.npy"))
    np.save(root / "Std.npy", np.load(FIXTURE / "Std.npy"))
    words = ["sos", "eos", "unk", "a", "person", *VERBS, *WAYS]
    vectors = np.random.default_rng(0).normal(size=(len(words), 300)).astype(np.float32)
    glove = root / "glove"
    glove.mkdir()
    np.save(glove / "our_vab_data.npy", vectors)
    with open(glove / "our_vab_words.pkl", "wb") as handle:
        pickle.dump(words, handle)
    with open(glove / "our_vab_idx.pkl", "wb") as handle:
        pickle.dump({w: i for i, w in enumerate(words)}, handle)
    return root


def test_contrastive_loss_matches_published_formula():
    text = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    motion = torch.tensor([[0.0, 1.0], [3.0, 4.0], [0.0, 20.0]])
    loss, positive, negative = contrastive_loss(text, motion, shift=1, margin=10.0)
    assert positive.item() == pytest.approx((1.0 + 0.0 + 19.0**2) / 3)
    # text i against motion i+1: distances 5, sqrt(9 + 256) = 16.3 (beyond the margin), 0
    expected_negative = ((10 - 5.0) ** 2 + 0.0 + (10 - 0.0) ** 2) / 3
    assert negative.item() == pytest.approx(expected_negative)
    assert loss.item() == pytest.approx(positive.item() + expected_negative)


def test_train_tiny_evaluator_loss_falls(dataset, tmp_path, capsys):
    out = tmp_path / "evaluator"
    code = main([
        "train", "evaluator", "--data", str(dataset), "--out", str(out), "--word-vectors", "glove",
        "--glove", str(dataset / "glove"), "--preset", "tiny", "--epochs", "12", "--ae-epochs", "2",
        "--batch-size", "8", "--lr", "3e-3", "--accelerator", "cpu", "--devices", "1", "--replications", "2",
    ])  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(open(out / "runs" / "matching" / "logs" / "version_0" / "metrics.csv")))
    losses = [float(r["loss_epoch"]) for r in rows if r.get("loss_epoch")]
    assert len(losses) == 12
    assert np.mean(losses[-3:]) < 0.7 * losses[0], losses
    ae_rows = list(csv.DictReader(open(out / "runs" / "movement" / "logs" / "version_0" / "metrics.csv")))
    assert any(r.get("ae_loss_epoch") for r in ae_rows)

    evaluator = T2MEvaluator.load(out, glove_dir=dataset / "glove")
    assert evaluator.config.dim_coemb_hidden == 32 and evaluator.vectorizer.vectors.kind == "glove"
    np.testing.assert_allclose(evaluator.mean.numpy(), np.load(dataset / "Mean.npy"), rtol=1e-6)
    # the published-layout export holds the same weights
    official = torch.load(out / "finest.tar", weights_only=True)
    torch.testing.assert_close(official["motion_encoder"]["hidden"], evaluator.motion_encoder.hidden)
    # trained pairs are closer than mismatched pairs
    motions = np.stack([np.load(dataset / "new_joint_vecs" / f"{i:06d}.npy") for i in range(40)])
    texts = [(dataset / "texts" / f"{i:06d}.txt").read_text().split("#")[1].split() for i in range(40)]
    motion_emb = evaluator.embed_motions(motions, np.full(40, 128))
    text_emb = evaluator.embed_captions(texts)
    distances = torch.cdist(text_emb, motion_emb)
    assert distances.diagonal().mean() < distances.mean()

    summary = __import__("json").loads((out / "real_metrics.json").read_text())
    assert summary["items"] == 40 and summary["replications"] == 2
    top = summary["r_precision"]["mean"]
    assert len(top) == 3 and top[0] <= top[1] <= top[2] and top[2] > 3 / 32
    assert "saved evaluator" in capsys.readouterr().out
