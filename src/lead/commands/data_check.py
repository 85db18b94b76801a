"""`lead data check DIR`: validate a HumanML3D-format dataset folder."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a HumanML3D/KIT-format dataset folder and print per-split counts",
        description="Check every motion, caption and split file of a dataset folder; report every problem "
        "with counts and exit 1 if anything is wrong.",
    )
    parser.add_argument("root", metavar="DIR", help="dataset folder (new_joint_vecs/, texts/, Mean.npy, ...)")
    parser.add_argument("--skeleton", choices=("humanml3d", "kit"), default="humanml3d")
    parser.add_argument(
        "--min-length", type=int, default=None, help="loader minimum length in frames (default 40, KIT 24)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from lead.data.check import check_dataset

    report = check_dataset(args.root, skeleton=args.skeleton, min_length=args.min_length)
    print(report.format())
    if report.ok:
        return 0
    print(f"lead: error: {args.root} has problems (listed above); fix them before training or evaluating on it",
          file=sys.stderr)
    return 1
