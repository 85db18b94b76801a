"""The Guo et al. T2M evaluator: published checkpoint layout, reference ordering, word vectors, folders."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from lead.errors import LeadError
from lead.evaluation.evaluator import EvaluatorConfig, T2MEvaluator
from lead.evaluation.word_vectorizer import (
    POS_ENUMERATOR,
    GloVeWordVectors,
    MiniLMWordVectors,
    WordVectorizer,
    pad_tokens,
    tokenize_caption,
)

FIXTURE = Path(__file__).parent / "fixtures" / "humanml3d-reference"


def _gru_shapes(prefix: str, inp: int, hidden: int) -> dict:
    shapes = {}
    for suffix in ("", "_reverse"):
        shapes[f"{prefix}.weight_ih_l0{suffix}"] = (3 * hidden, inp)
        shapes[f"{prefix}.weight_hh_l0{suffix}"] = (3 * hidden, hidden)
        shapes[f"{prefix}.bias_ih_l0{suffix}"] = (3 * hidden,)
        shapes[f"{prefix}.bias_hh_l0{suffix}"] = (3 * hidden,)
    return shapes


def _mlp_shapes(hidden: int, out: int) -> dict:
    return {
        "output_net.0.weight": (hidden, 2 * hidden),
        "output_net.0.bias": (hidden,),
        "output_net.1.weight": (hidden,),
        "output_net.1.bias": (hidden,),
        "output_net.3.weight": (out, hidden),
        "output_net.3.bias": (out,),
    }


# The published t2m text_mot_match/model/finest.tar, written out by hand from the reference modules.
PUBLISHED_T2M = {
    "movement_encoder": {
        "main.0.weight": (512, 259, 4),
        "main.0.bias": (512,),
        "main.3.weight": (512, 512, 4),
        "main.3.bias": (512,),
        "out_net.weight": (512, 512),
        "out_net.bias": (512,),
    },
    "text_encoder": {
        "pos_emb.weight": (300, 15),
        "pos_emb.bias": (300,),
        "input_emb.weight": (512, 300),
        "input_emb.bias": (512,),
        **_gru_shapes("gru", 512, 512),
        **_mlp_shapes(512, 512),
        "hidden": (2, 1, 512),
    },
    "motion_encoder": {
        "input_emb.weight": (1024, 512),
        "input_emb.bias": (1024,),
        **_gru_shapes("gru", 1024, 1024),
        **_mlp_shapes(1024, 512),
        "hidden": (2, 1, 1024),
    },
}


def _fake_glove(folder: Path, words: list[str], dim: int = 300, seed: int = 0) -> Path:
    """A GloVe folder in the reference format (our_vab_data.npy / _words.pkl / _idx.pkl), random vectors."""
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.random.default_rng(seed).normal(size=(len(words), dim)).astype(np.float32)
    np.save(folder / "our_vab_data.npy", vectors)
    with open(folder / "our_vab_words.pkl", "wb") as handle:
        pickle.dump(list(words), handle)
    with open(folder / "our_vab_idx.pkl", "wb") as handle:
        pickle.dump({word: i for i, word in enumerate(words)}, handle)
    return folder


WORDS = [
    "sos",
    "eos",
    "unk",
    "a",
    "person",
    "walk",
    "forward",
    "and",
    "turn",
    "left",
    "slowly",
    "the",
    "hand",
]


@pytest.fixture(scope="module")
def motions():
    """Three crops of the real HumanML3D sample (raw 263-d features), zero-padded, and their lengths."""
    clip = np.load(FIXTURE / "new_joint_vecs" / "012314.npy")
    lengths = np.array([120, 168, 64])
    batch = np.zeros((3, 168, 263), np.float32)
    for row, (start, length) in enumerate(zip([10, 0, 50], lengths)):
        batch[row, :length] = clip[start : start + length]
    return batch, lengths


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """A finest.tar in the published layout (random weights), a meta folder and a fake GloVe folder."""
    root = tmp_path_factory.mktemp("checkpoints")
    source = T2MEvaluator(EvaluatorConfig.official("t2m"), seed=3)
    model_dir = root / "t2m" / "text_mot_match" / "model"
    source.save_official(model_dir / "finest.tar", epoch=7)
    meta = root / "t2m" / "Comp_v6_KLD01" / "meta"
    meta.mkdir(parents=True)
    np.save(meta / "mean.npy", np.load(FIXTURE / "Mean.npy"))
    np.save(meta / "std.npy", np.load(FIXTURE / "Std.npy"))
    glove = _fake_glove(root / "glove", WORDS)
    return source, root, meta, glove


def test_official_checkpoint_has_published_keys_and_shapes(official):
    _, root, _, _ = official
    state = torch.load(root / "t2m/text_mot_match/model/finest.tar", weights_only=True)
    assert state["epoch"] == 7
    for key, expected in PUBLISHED_T2M.items():
        assert {name: tuple(t.shape) for name, t in state[key].items()} == expected


def test_from_official_loads_and_embeds(official, motions):
    source, root, meta, glove = official
    evaluator = T2MEvaluator.from_official(root / "t2m/text_mot_match/model/finest.tar", meta, glove, "t2m")
    again = T2MEvaluator.from_official(root, None, glove, "t2m")  # checkpoints root: the layout is found
    features, lengths = motions
    emb = evaluator.embed_motions(features, lengths)
    assert emb.shape == (3, 512) and torch.isfinite(emb).all()
    torch.testing.assert_close(again.embed_motions(features, lengths), emb)
    # the loaded weights are the written ones: same embedding through the source module with the same stats
    source.mean.copy_(torch.from_numpy(np.load(meta / "mean.npy")))
    source.std.copy_(torch.from_numpy(np.load(meta / "std.npy")))
    torch.testing.assert_close(source.embed_motions(features, lengths), emb)
    text = evaluator.embed_captions(
        [["a/DET", "person/NOUN", "walk/VERB", "forward/ADV"], ["turn/VERB", "left/ADV"]]
    )
    assert text.shape == (2, 512) and torch.isfinite(text).all()


def test_motion_embedding_matches_reference_sorted_packing(official, motions):
    """Our input-order embedding equals the reference procedure: sort by length desc, drop contacts,
    movement encoder, lengths // 4, pack_padded_sequence with sorted lengths."""
    evaluator = T2MEvaluator.from_official(*official[1:3], None, "t2m")
    features, lengths = motions
    ours = evaluator.embed_motions(features, lengths)
    normalized = (torch.from_numpy(features) - evaluator.mean) / evaluator.std
    normalized = normalized * (torch.arange(168)[None, :] < torch.from_numpy(lengths)[:, None])[..., None]
    padded = torch.cat([normalized, torch.zeros(3, 196 - 168, 263)], dim=1)  # the reference pads to 196
    order = np.argsort(lengths)[::-1].copy()
    with torch.no_grad():
        movements = evaluator.movement_encoder(padded[order][..., :-4])
        enc = evaluator.motion_encoder
        packed = pack_padded_sequence(
            enc.input_emb(movements), torch.from_numpy(lengths[order] // 4), batch_first=True
        )
        _, last = enc.gru(packed, enc.hidden.repeat(1, 3, 1))
        reference = enc.output_net(torch.cat([last[0], last[1]], dim=-1))
    torch.testing.assert_close(ours[order], reference, rtol=1e-4, atol=1e-4)


def test_normalized_input_and_padding_do_not_change_embeddings(official, motions):
    evaluator = T2MEvaluator.from_official(*official[1:3], None, "t2m")
    features, lengths = motions
    emb = evaluator.embed_motions(features, lengths)
    normalized = evaluator.normalize(torch.from_numpy(features))
    torch.testing.assert_close(evaluator.embed_motions(normalized, lengths, normalized=True), emb)
    garbage = features.copy()
    garbage[0, 120:] = 99.0  # frames past the length must not matter
    torch.testing.assert_close(evaluator.embed_motions(garbage, lengths), emb)
    single = evaluator.embed_motions(features[2:3, :64], lengths[2:3])
    torch.testing.assert_close(single[0], emb[2], rtol=1e-4, atol=1e-5)


def test_text_embedding_order_independent(official):
    evaluator = T2MEvaluator.from_official(*official[1:])
    captions = [["person/NOUN", "walk/VERB"], ["a/DET", "person/NOUN", "turn/VERB", "left/ADV", "slowly/ADV"]]
    both = evaluator.embed_captions(captions)
    torch.testing.assert_close(evaluator.embed_captions(captions[::-1]), both.flip(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(evaluator.embed_captions(captions[1:]), both[1:], rtol=1e-5, atol=1e-5)


def test_missing_files_name_the_file(tmp_path, official):
    _, root, meta, glove = official
    with pytest.raises(LeadError, match="finest.tar"):
        T2MEvaluator.from_official(tmp_path, meta, glove)
    with pytest.raises(LeadError, match="mean.npy"):
        T2MEvaluator.from_official(root, tmp_path, glove)
    with pytest.raises(LeadError, match="our_vab_data.npy"):
        T2MEvaluator.from_official(root, meta, tmp_path)
    with pytest.raises(LeadError, match=r"shape \(251,\)"):
        T2MEvaluator.from_official(root / "t2m/text_mot_match/model/finest.tar", meta, None, "kit")
    kit_meta = tmp_path / "kit_meta"
    kit_meta.mkdir()
    np.save(kit_meta / "mean.npy", np.zeros(251, np.float32))
    np.save(kit_meta / "std.npy", np.ones(251, np.float32))
    with pytest.raises(LeadError, match="does not fit the kit evaluator"):
        T2MEvaluator.from_official(root / "t2m/text_mot_match/model/finest.tar", kit_meta, None, "kit")
    with pytest.raises(LeadError, match="config.json"):
        T2MEvaluator.load(tmp_path)


def test_kit_evaluator_has_251_features():
    evaluator = T2MEvaluator(EvaluatorConfig.official("kit"))
    assert evaluator.movement_encoder.main[0].weight.shape == (512, 247, 4)


def test_glove_vectorizer_reference_rules(tmp_path):
    vectors = GloVeWordVectors(_fake_glove(tmp_path / "glove", WORDS))
    vectorizer = WordVectorizer(vectors)
    table = np.load(tmp_path / "glove" / "our_vab_data.npy")
    vec, pos = vectorizer["walk/VERB"]  # a VIP action word: its POS becomes Act_VIP
    np.testing.assert_array_equal(vec, table[WORDS.index("walk")])
    assert pos.argmax() == POS_ENUMERATOR["Act_VIP"] and pos.sum() == 1
    assert vectorizer["person/NOUN"][1].argmax() == POS_ENUMERATOR["NOUN"]
    assert vectorizer["left/VERB"][1].argmax() == POS_ENUMERATOR["Loc_VIP"]
    assert vectorizer["and/CCONJ"][1].argmax() == POS_ENUMERATOR["OTHER"]  # tag outside the 15 classes
    vec, pos = vectorizer["cartwheel/VERB"]  # unknown word: unk vector, OTHER
    np.testing.assert_array_equal(vec, table[WORDS.index("unk")])
    assert pos.argmax() == POS_ENUMERATOR["OTHER"]
    words, poses, lengths = vectorizer.encode([["walk/VERB"], ["walk/VERB"] * 25])
    assert words.shape == (2, 22, 300) and poses.shape == (2, 22, 15)
    assert lengths.tolist() == [3, 22]
    np.testing.assert_array_equal(words[0, 0], table[WORDS.index("sos")])
    np.testing.assert_array_equal(words[0, 2], table[WORDS.index("eos")])
    np.testing.assert_array_equal(words[0, 3:], np.repeat(table[None, WORDS.index("unk")], 19, axis=0))


def test_pad_tokens_matches_reference_dataset():
    short, n = pad_tokens(["a/DET", "b/NOUN"])
    assert n == 4 and len(short) == 22 and short[:4] == ["sos/OTHER", "a/DET", "b/NOUN", "eos/OTHER"]
    assert set(short[4:]) == {"unk/OTHER"}
    exact, n = pad_tokens([f"w{i}/NOUN" for i in range(20)])  # 20 tokens: cropped branch, no padding
    assert n == 22 and exact[-1] == "eos/OTHER" and exact[-2] == "w19/NOUN"
    long, n = pad_tokens([f"w{i}/NOUN" for i in range(30)])
    assert n == 22 and long[-2] == "w19/NOUN"


def test_tokenize_caption_approximates_reference_format():
    assert tokenize_caption("A person walks forward, then turns-around slowly.") == [
        "a/DET",
        "person/NOUN",
        "walks/NOUN",
        "forward/NOUN",
        "then/CCONJ",
        "turnsaround/NOUN",
        "slowly/ADV",
    ]


def test_minilm_word_vectors_and_own_folder_roundtrip(tmp_path, motions):
    vectors = MiniLMWordVectors()
    assert vectors.dim == 384
    walk = vectors.lookup("walk")
    assert walk.shape == (384,) and np.isfinite(walk).all()
    assert not np.allclose(vectors.lookup("sos"), vectors.lookup("eos"))
    pieces = vectors.tokenizer("counterclockwise", add_special_tokens=False)["input_ids"]
    assert len(pieces) > 1  # a multi-piece word is the mean of its pieces
    np.testing.assert_allclose(
        vectors.lookup("counterclockwise"), vectors._weights[pieces].mean(0), rtol=1e-6
    )

    config = EvaluatorConfig(
        dim_word=384,
        dim_motion_hidden=64,
        dim_text_hidden=32,
        dim_coemb_hidden=16,
        dim_movement_enc_hidden=32,
        dim_movement_latent=32,
    )
    stats = np.load(FIXTURE / "Mean.npy"), np.load(FIXTURE / "Std.npy")
    evaluator = T2MEvaluator(config, *stats, WordVectorizer(vectors), seed=5)
    evaluator.save(tmp_path / "evaluator")
    loaded = T2MEvaluator.load(tmp_path / "evaluator")
    assert loaded.config == config and loaded.vectorizer.vectors.kind == "minilm"
    features, lengths = motions
    torch.testing.assert_close(
        loaded.embed_motions(features, lengths), evaluator.embed_motions(features, lengths)
    )
    captions = ["a person walks forward", ["turn/VERB", "left/ADV"]]
    torch.testing.assert_close(loaded.embed_captions(captions), evaluator.embed_captions(captions))
    assert loaded.embed_captions(captions).shape == (2, 16)
