"""Make a model folder from a denoiser training checkpoint, to evaluate a run while it trains.

    python scripts/checkpoint_model.py WORK_DIR CHECKPOINT OUT_DIR

WORK_DIR is the training folder (`lead train ... --out WORK_DIR`: config.json, mean/std, vae/,
projector/); CHECKPOINT a Lightning checkpoint of its denoiser stage (WORK_DIR/runs/denoiser/
checkpoints/last.ckpt). OUT_DIR gets links to WORK_DIR's files and a denoiser/ with the checkpoint's weights.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from lead.models.denoiser import LatentDenoiser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work")
    parser.add_argument("checkpoint")
    parser.add_argument("out")
    parser.add_argument("--denoiser-config", metavar="DIR",
                        help="a denoiser folder with the checkpoint's config.json (default WORK_DIR/denoiser)")
    args = parser.parse_args()
    work, out = Path(args.work), Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("config.json", "mean.npy", "std.npy", "LICENSE", "vae", "projector"):
        if (work / name).exists():
            (out / name).symlink_to((work / name).resolve())
    denoiser = LatentDenoiser.load(Path(args.denoiser_config) if args.denoiser_config else work / "denoiser")
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    state = checkpoint["state_dict"]
    denoiser.load_state_dict({k.removeprefix("denoiser."): v for k, v in state.items() if k.startswith("denoiser.")},
                             strict=True)
    denoiser.save(out / "denoiser")
    print(f"wrote {out} (step {checkpoint['global_step']})")


if __name__ == "__main__":
    main()
