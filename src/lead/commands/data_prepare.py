"""`lead data prepare bandai-namco SRC [SRC ...] --out DIR`: build a HumanML3D-format dataset."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="build a HumanML3D-format dataset from a public motion dataset (bandai-namco)",
        description="Convert a public motion dataset into the HumanML3D folder format "
        "(features, captions, splits, Mean/Std).",
    )
    kinds = parser.add_subparsers(dest="dataset", metavar="DATASET")
    bandai = kinds.add_parser(
        "bandai-namco",
        help="Bandai-Namco-Research-Motiondataset 1 and/or 2 (CC BY-NC 4.0)",
        description="Retarget every take to the SMPL 22-joint skeleton at 20 fps, cut long takes into "
        "windows, compute HumanML3D features, generate captions from the content/style labels, split by "
        "take (stratified ~80/10/10) and write Mean/Std from train. See the output README.md.",
    )
    bandai.add_argument(
        "sources", metavar="SRC", nargs="+",
        help="an extracted Bandai-Namco-Research-Motiondataset-{1,2} folder or its .tar.xz archive",
    )  # fmt: skip
    bandai.add_argument("--out", required=True, metavar="DIR", help="output folder (must not exist)")
    bandai.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    bandai.add_argument("--seed", type=int, default=0, help="seed for captions and splits (default 0)")
    bandai.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    bandai.add_argument(
        "--reversed-walks", action="store_true",
        help="also add every train walk played backwards in time as a 'walk-back' clip of the same style "
        "(176 clips: the real data has 12 backwards walks; val/test and Mean/Std stay real only)",
    )  # fmt: skip
    bandai.add_argument("--quiet", action="store_true", help="no progress bar")
    bandai.set_defaults(func=run)
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])


def run(args: argparse.Namespace) -> int:
    from lead.data.bandai_namco import prepare_bandai_namco
    from lead.errors import LeadError
    from lead.io import check_output

    if args.workers < 1:
        raise LeadError(f"--workers must be at least 1 (1: no worker processes), got {args.workers}")
    if not 0 <= args.seed <= 2**32 - 1:
        raise LeadError(f"--seed must be in 0..{2**32 - 1}, got {args.seed}")
    check_output(args.out)

    summary = prepare_bandai_namco(
        args.sources, args.out, workers=args.workers, seed=args.seed, overwrite=args.overwrite,
        progress=not args.quiet, reversed_walks=args.reversed_walks,
    )  # fmt: skip
    print(
        f"wrote {args.out}: {summary['takes']} takes, {summary['captions']} captions, {summary['seconds']} s"
    )
    for split, counts in summary["splits"].items():
        print(f"  {split:<6} takes {counts['takes']:>5}  clips {counts['clips']:>5}"
              f"  frames {counts['frames']:>7}  hours {counts['hours']:.2f}")  # fmt: skip
    if summary["augmented_clips"]:
        print(f"  of the train clips, {summary['augmented_clips']} are time-reversed walks (--reversed-walks)")
    return 0
