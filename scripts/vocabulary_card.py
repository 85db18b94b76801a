"""Write a model folder's vocabulary card (`vocabulary.safetensors`, lead.models.vocabulary) from the dataset it
was trained on: the train split's distinct captions embedded by the model's own text encoder, the contents with
their train clip counts, the styles, and the licence. (`lead train denoiser` writes one itself when its data has
a labels.json; this script rebuilds it, e.g. with --unsupported from the model card's measurements.)

    python scripts/vocabulary_card.py --data /work/data/bandai-hml --model src/lead/assets/default \\
        --unsupported bow

--unsupported names contents the model card measured as not learnt (the shipped model: bow; kick, punch, slash,
call and respond fall under --min-clips 10 anyway). Needs the dataset's labels.json (content/style/split per clip).
"""

from __future__ import annotations

import argparse
import json

import torch

from lead.models.vocabulary import card_from_dataset, save_card
from lead.pipeline import TextToMotionPipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the HumanML3D-format folder the model was trained on")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--min-clips", type=int, default=10)
    parser.add_argument("--unsupported", default="", help="comma-separated contents the model did not learn")
    args = parser.parse_args()
    pipe = TextToMotionPipeline.from_pretrained(args.model)

    def encode(texts: list[str]):
        with torch.no_grad():
            return pipe.text_encoder.encode_pooled(texts).float().cpu().numpy()

    card = card_from_dataset(args.data, encode, pipe.text_encoder.identity, args.min_clips,
                             tuple(filter(None, args.unsupported.split(","))))
    if card is None:
        raise SystemExit(f"{args.data} has no labels.json with train clips and captions: no card to write")
    target = save_card(pipe.folder, card)
    contents = json.loads(card[1]["contents"])
    print(f"wrote {target}: {len(card[0]['embeddings'])} captions, {target.stat().st_size / 1e3:.0f} kB; contents "
          f"it does: {', '.join(name for name, info in contents.items() if info['supported'])}")


if __name__ == "__main__":
    main()
