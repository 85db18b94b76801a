"""`lead info`: what a model folder holds and what it was trained on (its vocabulary card), without loading it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lead.errors import LeadError

EPILOG = """examples:
  lead info                       # the shipped model: components, the motions and styles it knows, licence
  lead info --model models/mine
  lead info --json

The vocabulary comes from the model's vocabulary.safetensors (the training captions, embedded): `lead generate`
warns when a prompt is far from all of them, naming the nearest motions the model does."""

COMPONENT_NAMES = ("vae", "denoiser", "projector", "lcm")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="what a model can do: its motions, styles, components and licence",
        description="Describe a model folder: components, settings, the motions and styles it was trained on, "
                    "and its licence.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: the small model shipped with lead)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def describe(folder: Path) -> dict:
    from lead.models.bundle import read_bundle_config
    from lead.models.vocabulary import VocabularyCard

    config = read_bundle_config(folder)
    card = VocabularyCard.load(folder)
    licence_file = folder / "LICENSE"
    info = {
        "model": str(folder.resolve()),
        "components": [name for name in COMPONENT_NAMES if (folder / name / "model.safetensors").is_file()],
        "text_encoder": config.text_encoder_identity or config.text_encoder,
        "fps": config.fps, "max_seconds": config.max_frames / config.fps, "guidance": config.guidance,
        "dataset": config.dataset,
        "licence": (card.licence if card is not None and card.licence else config.license) or "not stated",
        "licence_file": str(licence_file) if licence_file.is_file() else None,
        "vocabulary": None,
    }
    if card is not None:
        info["vocabulary"] = {
            "does": {name: data.get("clips", 0) for name, data in card.contents.items() if data.get("supported")},
            "seen_but_not_learnt": {name: data.get("clips", 0) for name, data in card.contents.items()
                                    if not data.get("supported")},
            "styles": card.styles, "captions": len(card.captions), "threshold": card.threshold,
        }
    return info


def run(args: argparse.Namespace) -> int:
    from lead.models.bundle import default_model_path

    folder = Path(args.model) if args.model else default_model_path()
    if not folder.is_dir():
        raise LeadError(f"model folder {folder} does not exist; give the folder of a trained lead model (--model DIR)")
    info = describe(folder)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"model       {info['model']}")
    print(f"components  {', '.join(info['components'])}; text encoder {info['text_encoder']}")
    print(f"motion      {info['fps']} fps, up to {info['max_seconds']:.1f} s; guidance {info['guidance']:g}")
    print(f"trained on  {info['dataset'] or 'not stated'}")
    print(f"licence     {info['licence']}" + (f" ({info['licence_file']})" if info["licence_file"] else ""))
    vocabulary = info["vocabulary"]
    if vocabulary is None:
        print("vocabulary  none recorded (no vocabulary.safetensors): prompts are not checked against the training "
              "captions")
        return 0

    def listed(counts: dict) -> str:
        return ", ".join(f"{name.replace('-', ' ')} ({clips})" for name, clips in counts.items()) or "none"

    print(f"does        {listed(vocabulary['does'])}   (training clips)")
    print(f"not learnt  {listed(vocabulary['seen_but_not_learnt'])}")
    print(f"styles      {listed(vocabulary['styles'])}")
    print(f"prompts     checked against {vocabulary['captions']} training captions; below similarity "
          f"{vocabulary['threshold']:.2f} (or nearest a motion not learnt) lead generate warns")
    return 0
