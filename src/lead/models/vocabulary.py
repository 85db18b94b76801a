"""What a model was trained on, and how far a prompt is from it (issue 28, prompt coverage).

A model folder may carry `vocabulary.safetensors`, the vocabulary card: the text-encoder embeddings `[N, D]`
(float16, unit length) of its training captions (near-duplicates dropped), each caption's content label, and
as metadata the captions, the contents (train clips, and whether the model does them), the styles and the
licence. A prompt is *covered* when its pooled embedding is close (cosine ≥ the card's threshold) to a
caption of a content the model does; otherwise `check` says so and names the nearest contents it does.

The card is read only when a prompt is checked (safetensors, < 1 MB), so `lead generate`'s start is not slowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lead.errors import LeadError

FILE = "vocabulary.safetensors"
FORMAT = "lead-vocabulary"
DEFAULT_THRESHOLD = 0.67  # between the out-of-vocabulary prompts' best match (<= 0.63) and in-vocabulary (>= 0.71)


@dataclass(frozen=True)
class Coverage:
    """How one prompt relates to the training captions. `warning` is None when the model covers it."""

    text: str
    similarity: float  # cosine to the nearest training caption
    nearest_caption: str
    nearest_content: str
    nearby: tuple[str, ...]  # the nearest contents the model does, nearest first
    warning: str | None


class VocabularyCard:
    def __init__(self, embeddings: np.ndarray, content_index: np.ndarray, metadata: dict) -> None:
        self.embeddings = embeddings.astype(np.float32)  # [N, D], unit rows
        self.content_index = content_index.astype(np.int64)  # [N] into self.content_names
        self.captions: list[str] = metadata["captions"]
        self.contents: dict[str, dict] = metadata["contents"]  # name -> {"clips": n, "supported": bool}
        self.content_names = list(self.contents)
        self.styles: dict[str, int] = metadata.get("styles", {})
        self.threshold = float(metadata.get("threshold", DEFAULT_THRESHOLD))
        self.text_encoder = metadata.get("text_encoder", "")
        self.licence = metadata.get("licence", "")
        self.dataset = metadata.get("dataset", "")

    @classmethod
    def load(cls, folder: str | Path) -> VocabularyCard | None:
        """The card of a model folder, or None when it has none (an older or user-trained model)."""
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        from safetensors import safe_open

        from lead.io import check_regular_input

        check_regular_input(path, "vocabulary card")
        try:
            with safe_open(str(path), framework="np") as handle:
                raw = dict(handle.metadata() or {})
                embeddings, content_index = handle.get_tensor("embeddings"), handle.get_tensor("content")
            metadata = {key: json.loads(raw[key]) for key in ("captions", "contents", "styles") if key in raw}
            metadata.update({key: raw[key] for key in ("threshold", "text_encoder", "licence", "dataset")
                             if key in raw})
            card = cls(embeddings, content_index, metadata)
        except Exception as error:  # safetensors and json raise several types; a damaged model file is one line
            raise LeadError(f"{path} is not a readable vocabulary card ({error}); delete it or rebuild it with "
                            "scripts/vocabulary_card.py") from None
        if raw.get("format") != FORMAT or card.embeddings.ndim != 2 or len(card.captions) != len(card.embeddings) \
                or len(card.content_index) != len(card.embeddings) or not np.isfinite(card.embeddings).all() \
                or (len(card.content_index) and not 0 <= card.content_index.min() <= card.content_index.max()
                    < len(card.content_names)):
            raise LeadError(f"{path} is not a lead vocabulary card (format or shapes do not match); rebuild it "
                            "with scripts/vocabulary_card.py")
        return card

    @property
    def supported(self) -> list[str]:
        return [name for name, info in self.contents.items() if info.get("supported")]

    def check(self, texts: list[str], pooled: np.ndarray) -> list[Coverage]:
        """One `Coverage` per text; `pooled` `[B, D]` are the texts' pooled embeddings (the diffusion condition)."""
        pooled = np.asarray(pooled, np.float32)
        pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-8)
        similarity = pooled @ self.embeddings.T  # [B, N]
        supported = np.array([self.contents[name].get("supported", False) for name in self.content_names])
        results = []
        for text, row in zip(texts, similarity):
            nearest = int(row.argmax())
            best_per_content = np.full(len(self.content_names), -np.inf)
            np.maximum.at(best_per_content, self.content_index, row)
            order = [i for i in np.argsort(-best_per_content) if supported[i] and np.isfinite(best_per_content[i])]
            nearby = tuple(self.content_names[i] for i in order[:3])
            content = self.content_names[self.content_index[nearest]]
            score = float(row[nearest])
            warning = None
            shown = text if len(text) <= 80 else text[:77] + "..."
            suggestion = (f"Nearest things it does: {', '.join(name.replace('-', ' ') for name in nearby)} "
                          "(`lead info` lists all)")
            if score < self.threshold:
                warning = (f"{shown!r} is unlike anything this model was trained on (similarity {score:.2f} to the "
                           f"nearest training caption, {self.threshold:.2f} needed): it will make some other motion. "
                           + suggestion)
            elif not self.contents[content].get("supported"):
                clips = self.contents[content].get("clips", 0)
                warning = (f"{shown!r} reads as {content.replace('-', ' ')!r}, which this model saw in {clips} "
                           f"training clip(s) and did not learn: it will make some other motion. " + suggestion)
            results.append(Coverage(text, score, self.captions[nearest], content, nearby, warning))
        return results


def build_card(captions: dict[str, str], clips: dict[str, int], styles: dict[str, int], encode, *,
               text_encoder: str, min_clips: int = 10, unsupported: tuple[str, ...] = (), dedupe: float = 0.95,
               threshold: float = DEFAULT_THRESHOLD, licence: str = "", dataset: str = "") -> tuple[dict, dict]:
    """The tensors and metadata of a card. `captions`: distinct training caption -> its content label;
    `clips`: train clips per content; `encode(list[str]) -> [B, D]` the pooled text embeddings. A content with
    fewer than `min_clips` clips, or listed in `unsupported` (measured as not learnt), is kept as a row that
    warns. Captions closer than `dedupe` to one already kept are dropped (they add size, not coverage)."""
    texts = sorted(captions)
    embeddings = np.concatenate([np.asarray(encode(texts[i:i + 256]), np.float32)
                                 for i in range(0, len(texts), 256)]) if texts else np.zeros((0, 0), np.float32)
    embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-8)
    kept: list[int] = []
    for i in range(len(texts)):
        if not kept or float((embeddings[kept] @ embeddings[i]).max()) < dedupe:
            kept.append(i)
    names = sorted(clips, key=lambda name: (-clips[name], name))
    contents = {name: {"clips": int(clips[name]), "supported": clips[name] >= min_clips and name not in unsupported}
                for name in names}
    tensors = {"embeddings": embeddings[kept].astype(np.float16),
               "content": np.array([names.index(captions[texts[i]]) for i in kept], np.int16)}
    metadata = {"format": FORMAT, "text_encoder": text_encoder, "threshold": repr(float(threshold)),
                "captions": json.dumps([texts[i] for i in kept]), "contents": json.dumps(contents),
                "styles": json.dumps(dict(sorted(styles.items(), key=lambda item: (-item[1], item[0])))),
                "licence": licence, "dataset": dataset}
    return tensors, metadata


def card_from_dataset(data: str | Path, encode, text_encoder: str, min_clips: int = 10,
                      unsupported: tuple[str, ...] = ()) -> tuple[dict, dict] | None:
    """A card for a model trained on the HumanML3D-format folder `data`: its train clips' distinct captions and,
    from `labels.json` (what `lead data prepare bandai-namco` writes), their contents and styles. None when the
    folder has no labels.json (HumanML3D itself): without contents the card could not name what the model does."""
    import collections
    import re

    from lead.io import read_json, read_text, text_lines

    data = Path(data)
    if not (data / "labels.json").is_file():
        return None
    labels = read_json(data / "labels.json", "label table")
    if not isinstance(labels, dict):
        raise LeadError(f"{data / 'labels.json'}: expected a JSON object of clip labels")
    train = {clip: label for clip, label in labels.items() if isinstance(label, dict) and label.get("split") == "train"
             and isinstance(label.get("content"), str)}
    clips = collections.Counter(label["content"] for label in train.values())
    styles = collections.Counter(str(label.get("style", "")) for label in train.values() if label.get("style"))
    by_caption: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for clip, label in train.items():
        path = data / "texts" / f"{clip}.txt"
        if path.is_file():
            for line in text_lines(read_text(path, "caption file")):
                caption = line.split("#")[0].strip()
                if caption:
                    by_caption[caption][label["content"]] += 1
    if not by_caption:
        return None
    captions = {caption: counts.most_common(1)[0][0] for caption, counts in by_caption.items()}
    licence = "see LICENSE"
    if (data / "LICENSE").is_file():
        found = re.search(r"licensed under (.+?)\.(?:\s|$)", " ".join(read_text(data / "LICENSE", "licence").split()))
        if found:
            licence = f"{found.group(1)}, inherited from the training data (see LICENSE)"
    return build_card(captions, dict(clips), dict(styles), encode, text_encoder=text_encoder, min_clips=min_clips,
                      unsupported=unsupported, licence=licence, dataset=data.name)


def save_card(folder: str | Path, card: tuple[dict, dict]) -> Path:
    """Write a card from `build_card`/`card_from_dataset` into a model folder, atomically."""
    from safetensors.numpy import save_file

    from lead.io import atomic_path

    tensors, metadata = card
    target = Path(folder) / FILE
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return target
