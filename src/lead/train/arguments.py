"""Command-line options shared by every training stage (no heavy imports: `lead --help` stays fast)."""

from __future__ import annotations

import argparse


def add_trainer_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training run")
    group.add_argument("--batch-size", type=int, default=32)
    group.add_argument("--lr", type=float, default=1e-4, help="AdamW learning rate (default 1e-4, as MLD/LEAD)")
    group.add_argument("--balance", default=None, metavar="FIELD",
                       help="draw training clips weighted by count(label)^-power, labels from DATA/labels.json "
                            "(e.g. content: rare actions such as kick and bow are seen more often)")
    group.add_argument("--balance-power", type=float, default=0.5, help="power of --balance (default 0.5)")
    group.add_argument("--balance-boost", action="append", default=[], metavar="LABEL=FACTOR",
                       help="with --balance: draw clips of LABEL FACTOR times more often on top of the "
                            "balancing (repeatable; e.g. walk-back=4); LABEL may be FIELD:VALUE pairs joined by "
                            "commas, for clips with all of them (e.g. content:walk-back,style:sad=8)")
    group.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant",
                       help="constant (MLD) or linear warm-up then cosine decay to 0 at --max-steps")
    group.add_argument("--warmup-steps", type=int, default=0, help="linear warm-up steps (default 0)")
    group.add_argument("--max-epochs", type=int, default=-1, help="stop after this many epochs (-1: no limit)")
    group.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimiser steps")
    group.add_argument("--max-time", default=None,
                       help="stop after this much training time, DD:HH:MM:SS (Lightning counts it across "
                            "--resume: raise it to continue a run that stopped on time)")
    group.add_argument("--seed", type=int, default=0)
    group.add_argument("--precision", default="32-true", help="Lightning precision: 32-true, 16-mixed, bf16-mixed")
    group.add_argument("--accelerator", default="auto", help="cpu, gpu, auto")
    group.add_argument("--devices", default="auto", help="number of devices or 'auto' (e.g. 8 for 8 GPUs)")
    group.add_argument("--num-nodes", type=int, default=1)
    group.add_argument("--strategy", default="auto", help="auto, ddp, ddp_find_unused_parameters_true, ...")
    group.add_argument("--workers", type=int, default=0, help="data-loader worker processes")
    group.add_argument("--resume", action="store_true", help="continue from OUT/runs/STAGE/checkpoints/last.ckpt")
    group.add_argument("--overwrite", action="store_true",
                       help="replace the stage's component if OUT already holds one (default: refuse)")
    group.add_argument("--checkpoint-every", type=int, default=500, help="checkpoint every N steps")
    group.add_argument("--val-every", type=int, default=1, help="validate every N epochs")
    group.add_argument("--log-every", type=int, default=20, help="log every N steps")
    group.add_argument("--save-dtype", default="float32", choices=["float32", "float16", "bfloat16"],
                       help="dtype of the exported weights (float16 halves the size)")
    group.add_argument("--min-length", type=int, default=40,
                       help="shortest clip used, in frames (HumanML3D's loader: 40; KIT: 24)")
    group.add_argument("--max-length", type=int, default=196, help="longest clip used, in frames (196)")
