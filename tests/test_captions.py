"""Captions generated from Bandai-Namco labels: coverage, determinism, wording, tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lead.data.captions import CONTENT_PHRASES, STYLE_WORDS, label_name, make_captions, tag_caption

FIXTURES = Path(__file__).parent / "fixtures" / "bandai-namco"


def labels(dataset: str, kind: str) -> list[str]:
    path = FIXTURES / dataset / "cfg" / f"{kind}_label.txt"
    return [label_name(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("dataset", ["dataset-1", "dataset-2"])
def test_every_label_pair_gets_distinct_fully_tagged_captions(dataset: str) -> None:
    contents, styles = labels(dataset, "content"), labels(dataset, "style")
    assert len(contents) == (17 if dataset == "dataset-1" else 10)
    for content in contents:
        for style in styles:
            captions = make_captions(content, style, np.random.default_rng(0))
            texts = [c.text for c in captions]
            assert 3 <= len(captions) <= 5 and len(set(texts)) == len(texts)
            for caption in captions:
                assert caption.whole_clip and caption.text.endswith(".") and "#" not in caption.text
                words = [t.split("/")[0] for t in caption.tokens]
                assert all(t.count("/") == 1 and not t.endswith("/X") for t in caption.tokens), caption
                assert len(words) >= 3


def test_directions_and_hands_are_explicit() -> None:
    cases = [("wave-left-hand", "left"), ("raise-up-right-hand", "right"), ("walk-turn-left", "left"),
             ("walk-turn-right", "right"), ("bye", "right"), ("respond", "left")]  # fmt: skip
    for content, side in cases:
        for seed in range(5):
            other = "right" if side == "left" else "left"
            for caption in make_captions(content, "normal", seed):
                assert f" {side}" in caption.text and other not in caption.text, caption.text
    for seed in range(5):
        assert all("both" in c.text for c in make_captions("wave-both-hands", "active", seed))


def test_style_wording() -> None:
    style_words = {s: set(" ".join(" ".join(group) for group in STYLE_WORDS[s]).replace(",", "").split())
                   for s in STYLE_WORDS}  # fmt: skip
    mentioned = 0
    for seed in range(20):
        for caption in make_captions("walk", "exhausted", seed):
            # every non-normal caption says the style in some form
            assert any(w in caption.text for w in ("exhausted", "tired", "wearily")), caption.text
        normal = make_captions("walk", "normal", seed)
        mentioned += sum(
            any(w in c.text.split() for w in ("normally", "ordinary", "neutral")) for c in normal
        )
    assert mentioned < 20  # "normal" is usually left unsaid
    texts = {c.text for seed in range(30) for c in make_captions("wave-right-hand", "elderly", seed)}
    assert any(t.startswith(("an elderly person", "an old person", "the elderly person")) for t in texts)
    assert any("like an elderly person" in t or "like an old person" in t for t in texts)
    assert any(" slowly " in f" {t[:-1]} " for t in texts)
    thug = {c.text for seed in range(30) for c in make_captions("dataset-1_walk", "dataset-1_chimpira", seed)}
    assert any("like a thug" in t for t in thug) and not any("chimpira" in t for t in thug)
    assert style_words["giant"] >= {"heavily", "giant"}


def test_deterministic_given_seed() -> None:
    first = make_captions("walk-turn-left", "youthful", 7)
    assert first == make_captions("walk-turn-left", "youthful", np.random.default_rng(7))
    assert any(make_captions("walk-turn-left", "youthful", s) != first for s in range(8, 12))
    assert len(make_captions("run", "happy", 0, count=3)) == 3
    with pytest.raises(KeyError):
        make_captions("fly", "normal", 0)


def test_tokens_follow_humanml3d_convention() -> None:
    tokens = tag_caption("Someone walks forward and turns left, looking exhausted.")
    assert tokens == ("someone/PRON", "walk/VERB", "forward/ADV", "and/CCONJ", "turn/VERB", "left/ADV",
                      "look/VERB", "exhausted/ADJ")  # fmt: skip
    assert tag_caption("a person raises the left hand.")[-2:] == ("left/ADJ", "hand/NOUN")
    assert tag_caption("walks to the right")[-1] == "right/NOUN"
    assert tag_caption("in a straight line")[2] == "straight/ADJ"
    assert tag_caption("a zorblax")[-1] == "zorblax/X"
    assert set(CONTENT_PHRASES) >= set(labels("dataset-1", "content")) | set(labels("dataset-2", "content"))
