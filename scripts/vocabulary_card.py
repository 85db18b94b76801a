"""Write a model folder's vocabulary card (`vocabulary.safetensors`, lead.models.vocabulary) from the dataset it
was trained on: the train split's distinct captions embedded by the model's own text encoder, the contents with
their train clip counts, the styles, and the licence.

    python scripts/vocabulary_card.py --data /work/data/bandai-hml --model src/lead/assets/default \\
        --unsupported bow

--unsupported names contents the model card measured as not learnt (the shipped model: bow; kick, punch, slash,
call and respond fall under --min-clips 10 anyway). Needs the dataset's labels.json (content/style/split per clip).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

import torch
from safetensors.numpy import save_file

from lead.io import atomic_path, read_text, text_lines
from lead.models.vocabulary import FILE, build_card
from lead.pipeline import TextToMotionPipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the HumanML3D-format folder the model was trained on")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--min-clips", type=int, default=10)
    parser.add_argument("--unsupported", default="", help="comma-separated contents the model did not learn")
    args = parser.parse_args()
    data = Path(args.data)
    labels = json.loads(read_text(data / "labels.json", "label table"))
    train = {clip: label for clip, label in labels.items() if label.get("split") == "train"}
    clips = collections.Counter(label["content"] for label in train.values())
    styles = collections.Counter(label["style"] for label in train.values())
    by_caption: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for clip, label in train.items():
        path = data / "texts" / f"{clip}.txt"
        if path.is_file():
            for line in text_lines(read_text(path, "caption file")):
                caption = line.split("#")[0].strip()
                if caption:
                    by_caption[caption][label["content"]] += 1
    captions = {caption: counts.most_common(1)[0][0] for caption, counts in by_caption.items()}
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    folder = Path(pipe.folder)

    def encode(texts: list[str]):
        with torch.no_grad():
            return pipe.text_encoder.encode_pooled(texts).float().cpu().numpy()

    licence_file = data / "LICENSE"
    text = " ".join(read_text(licence_file, "licence").split()) if licence_file.is_file() else ""
    found = re.search(r"licensed under (.+?)\.(?:\s|$)", text)
    licence = f"{found.group(1)}, inherited from the training data (see LICENSE)" if found else "see LICENSE"
    tensors, metadata = build_card(captions, dict(clips), dict(styles), encode,
                                   text_encoder=pipe.text_encoder.identity, min_clips=args.min_clips,
                                   unsupported=tuple(filter(None, args.unsupported.split(","))), licence=licence,
                                   dataset=data.name)
    with atomic_path(folder / FILE) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    size = (folder / FILE).stat().st_size
    print(f"wrote {folder / FILE}: {len(tensors['embeddings'])} of {len(captions)} captions, {size / 1e3:.0f} kB; "
          f"contents it does: {', '.join(c for c, i in json.loads(metadata['contents']).items() if i['supported'])}")


if __name__ == "__main__":
    main()
