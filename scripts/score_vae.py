"""Score a model folder's VAE on a split by motion quality against the real clips (one table row).

    python scripts/score_vae.py MODEL_DIR --data bandai-hml --split val [--label NAME]

Prints: stride (locomotion) / skating ratio / root-relative joint speed / jerk as ratios to the
real clips, root-aligned and global MPJPE (cm). Used by the VAE sweep (docs/vae_sweep.md).
"""

from __future__ import annotations

import argparse
import json

import torch

from lead.evaluation.motion_quality import summarize
from lead.evaluation.motion_sets import mpjpe, real_clips, vae_round_trip
from lead.models.bundle import read_bundle_config
from lead.models.vae import MotionVAE
from lead.motion.features import Normalizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--label", default=None)
    parser.add_argument("--json", default=None, help="also write the row here")
    parser.add_argument("--smoothing", type=int, default=None,
                        help="low-pass the decoded frames with this many binomial taps (as generation's "
                             "smoothing does; default 0)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    config = read_bundle_config(args.model)
    vae = MotionVAE.load(f"{args.model}/vae")
    normalizer = Normalizer.load(args.model)
    clips = real_clips(args.data, args.split, skeleton=config.skeleton, max_length=vae.config.max_length)
    captions = [c.caption for c in clips]
    _, fake = vae_round_trip(vae, normalizer, [c.features for c in clips], config.skeleton,
                             smoothing=args.smoothing or 0)
    real_summary = summarize([c.joints for c in clips], captions)
    fake_summary = summarize(fake, captions)
    glob, aligned = mpjpe([c.joints for c in clips], fake)

    def ratio(key: str) -> float:
        return fake_summary[key].mean / real_summary[key].mean

    row = {
        "label": args.label or args.model, "stride": ratio("stride"), "skate": ratio("skate_ratio"),
        "joint_speed": ratio("joint_speed"), "jerk": ratio("jerk"), "mpjpe_aligned_cm": 100 * aligned,
        "mpjpe_cm": 100 * glob,
    }
    print("| label | stride | skating | joint speed | jerk | MPJPE aligned cm | MPJPE cm |")
    print(f"| {row['label']} | {row['stride']:.2f} | {row['skate']:.2f} | {row['joint_speed']:.2f} | "
          f"{row['jerk']:.2f} | {row['mpjpe_aligned_cm']:.2f} | {row['mpjpe_cm']:.2f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(row, handle)


if __name__ == "__main__":
    main()
