"""Copy a trained model folder into a compact, shippable one (weights in fp16 by default).

    python scripts/export_model.py runs/default src/lead/assets/default --dtype float16
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from lead.errors import LeadError
from lead.io import check_output
from lead.models.bundle import read_bundle_config, write_bundle_config
from lead.models.registry import COMPONENTS
from lead.motion.features import Normalizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    parser.add_argument("--smoothing", type=int, default=None,
                        help="set the model's generation smoothing (binomial taps, odd; 0 = off)")
    parser.add_argument("--foot-cleanup", type=float, default=None,
                        help="set the model's foot-contact cleanup strength (0 = off .. 1, lead.motion.contacts)")
    parser.add_argument("--guidance", type=float, default=None,
                        help="set the model's default classifier-free guidance scale (finite, >= 0)")
    args = parser.parse_args()
    if args.smoothing is not None and (args.smoothing < 0 or args.smoothing % 2 == 0) and args.smoothing != 0:
        raise LeadError(f"--smoothing must be 0 (off) or an odd number of taps, got {args.smoothing}")
    if args.foot_cleanup is not None:
        from lead.motion.contacts import check_foot_cleanup

        check_foot_cleanup(args.foot_cleanup, "--foot-cleanup")
    source, target = Path(args.source), Path(args.target)
    read_bundle_config(source)  # a missing or broken model is refused before anything is written
    check_output(target)
    dtype = getattr(torch, args.dtype)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _export(args, source, target, staging, dtype)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a failed export leaves no half-written staging folder
        raise


def _export(args, source: Path, target: Path, staging: Path, dtype) -> None:
    for name, cls in COMPONENTS.items():
        if (source / name).is_dir():
            cls.load(source / name).save(staging / name, dtype)
    Normalizer.load(source).save(staging)
    bundle = read_bundle_config(source)
    if args.smoothing is not None:
        bundle.smoothing = args.smoothing
    if args.foot_cleanup is not None:
        from lead.motion.contacts import check_foot_cleanup

        bundle.foot_cleanup = check_foot_cleanup(args.foot_cleanup, "--foot-cleanup")
    if args.guidance is not None:
        import math

        if not math.isfinite(args.guidance) or args.guidance < 0:
            raise SystemExit(f"--guidance must be a finite number >= 0, got {args.guidance}")
        bundle.guidance = args.guidance
    write_bundle_config(staging, bundle)
    for extra in ("LICENSE", "README.md", "vocabulary.safetensors"):  # the card: what lead generate checks against
        if (source / extra).is_file():
            shutil.copyfile(source / extra, staging / extra)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(f"exported {source} -> {target} ({size / 1e6:.1f} MB, {args.dtype})")


if __name__ == "__main__":
    try:
        main()
    except LeadError as error:
        raise SystemExit(f"export_model.py: error: {error}") from None
