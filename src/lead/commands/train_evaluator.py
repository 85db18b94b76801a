"""`lead train evaluator`: train a Guo et al. text–motion evaluator on a HumanML3D-format folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "the T2M text-motion matching evaluator (Guo et al. 2022) used for FID / R-precision"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluator",
        help=HELP,
        description=(
            f"Train {HELP}: a movement autoencoder (--ae-epochs), then the text and motion encoders with "
            "the published contrastive matching loss. Writes an evaluator folder (config.json, "
            "model.safetensors, mean.npy, std.npy, vectorizer.json), finest.tar in the published layout, "
            "CSV logs under OUT/runs, and the real-data test metrics in OUT/real_metrics.json."
        ),
        epilog="Example: lead train evaluator --data data/bandai-hml --out models/evaluator --epochs 50",
    )
    parser.add_argument("--data", required=True, help="HumanML3D-format dataset folder")
    parser.add_argument("--out", required=True, help="evaluator folder to write")
    parser.add_argument("--epochs", type=int, default=100, help="text-motion matching epochs (default 100)")
    parser.add_argument(
        "--ae-epochs",
        type=int,
        default=20,
        help="movement autoencoder epochs before matching; 0 trains the movement encoder jointly",
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="pairs per batch, also the negatives (default 32)"
    )
    parser.add_argument(
        "--lr", type=float, default=1e-4, help="Adam learning rate (default 1e-4, as published)"
    )
    parser.add_argument(
        "--margin", type=float, default=10.0, help="negative-pair margin (default 10, as published)"
    )
    parser.add_argument(
        "--word-vectors",
        default="minilm",
        choices=["minilm", "glove"],
        help="minilm: frozen all-MiniLM-L6-v2 token embeddings (384-d, shipped); glove: the "
        "reference our_vab GloVe files (300-d, needs --glove)",
    )
    parser.add_argument(
        "--glove", default=None, help="folder with our_vab_data.npy, our_vab_words.pkl, our_vab_idx.pkl"
    )
    parser.add_argument(
        "--preset",
        default="official",
        choices=["official", "small", "tiny"],
        help="network sizes: official = the published evaluator (default); small/tiny for CPU tests",
    )
    parser.add_argument("--skeleton", default="humanml3d", choices=["humanml3d", "kit"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--min-length",
        type=int,
        default=None,
        help="shortest clip in frames (default: 40 for humanml3d, 24 for kit, as the reference)",
    )
    parser.add_argument("--max-time", default=None, help="wall-time limit per stage, DD:HH:MM:SS")
    parser.add_argument("--max-steps", type=int, default=-1, help="stop each stage after this many steps")
    parser.add_argument("--accelerator", default="auto", help="cpu, gpu, auto")
    parser.add_argument("--devices", default="auto", help="number of devices or 'auto'")
    parser.add_argument("--workers", type=int, default=0, help="data-loader worker processes")
    parser.add_argument(
        "--replications",
        type=int,
        default=20,
        help="replications of the real-data test metrics (0 skips them)",
    )
    parser.set_defaults(func=run)


def check_arguments(args: argparse.Namespace) -> None:
    """Every number and place before anything loads (Lightning's own errors are tracebacks)."""
    import math
    from types import SimpleNamespace

    from lead.errors import LeadError
    from lead.io import check_output
    from lead.train.validate import ACCELERATORS, MAX_BATCH, MAX_TIME, _check_devices

    for option, value, low in (("--epochs", args.epochs, 1), ("--ae-epochs", args.ae_epochs, 0),
                               ("--batch-size", args.batch_size, 2), ("--workers", args.workers, 0),
                               ("--replications", args.replications, 0)):
        if value < low:
            why = " (each pair needs another in its batch as a negative)" if option == "--batch-size" else ""
            raise LeadError(f"{option} must be at least {low}{why}, got {value}")
    if args.batch_size > MAX_BATCH:
        raise LeadError(f"--batch-size must be at most {MAX_BATCH}, got {args.batch_size}")
    if args.min_length is not None and not 1 <= args.min_length <= 196:
        raise LeadError(f"--min-length must be in 1..196 frames (the loader's longest clip), got {args.min_length}")
    if args.max_steps < -1 or args.max_steps == 0:
        raise LeadError(f"--max-steps must be a positive number of steps (or -1: no limit), got {args.max_steps}")
    if not 0 <= args.seed <= 2**32 - 1:
        raise LeadError(f"--seed must be in 0..{2**32 - 1}, got {args.seed}")
    for option, value in (("--lr", args.lr), ("--margin", args.margin)):
        if not (math.isfinite(value) and value > 0):
            raise LeadError(f"{option} must be a finite number > 0, got {value}")
    if args.max_time is not None and not MAX_TIME.match(args.max_time):
        raise LeadError(f"--max-time must be DD:HH:MM:SS (e.g. 00:01:30:00 for 90 minutes), got {args.max_time!r}")
    if args.accelerator not in ACCELERATORS:
        raise LeadError(f"--accelerator {args.accelerator!r}: choose one of {', '.join(ACCELERATORS)}")
    _check_devices(SimpleNamespace(accelerator=args.accelerator, devices=args.devices, strategy="auto"))
    if args.word_vectors == "glove" and not (args.glove and Path(args.glove).is_dir()):
        raise LeadError(f"--word-vectors glove needs --glove DIR, the folder with our_vab_data.npy, "
                        f"our_vab_words.pkl and our_vab_idx.pkl (got {args.glove!r})")
    if not Path(args.data).is_dir():
        raise LeadError(f"--data {args.data} is not a folder; give a HumanML3D-format dataset folder")
    check_output(args.out)


def run(args: argparse.Namespace) -> int:
    from lead.errors import LeadError
    from lead.evaluation.train import EvaluatorTrainSettings, real_metrics, save_real_metrics, train_evaluator

    check_arguments(args)

    settings = EvaluatorTrainSettings(
        data=Path(args.data), out=Path(args.out), epochs=args.epochs, ae_epochs=args.ae_epochs,
        batch_size=args.batch_size, lr=args.lr, margin=args.margin, word_vectors=args.word_vectors,
        glove=Path(args.glove) if args.glove else None, preset=args.preset, skeleton=args.skeleton,
        seed=args.seed, min_length=args.min_length, max_steps=args.max_steps, max_time=args.max_time,
        accelerator=args.accelerator, devices=args.devices, workers=args.workers,
    )  # fmt: skip
    evaluator = train_evaluator(settings)
    print(f"saved evaluator to {settings.out}")
    if args.replications > 0:
        try:
            summary = real_metrics(
                evaluator, settings.data, "test", settings.skeleton, args.replications, args.seed,
                min_length=args.min_length,
            )  # fmt: skip
        except (LeadError, ValueError) as error:  # no test split, or fewer than 32 test pairs
            print(f"real-data test metrics skipped: {error}")
            return 0
        save_real_metrics(settings.out / "real_metrics.json", summary)
        print(json.dumps(summary, indent=2))
    return 0
