"""Set the output smoothing of a trained VAE (a decoding choice saved in vae/config.json).

    python scripts/set_vae_smoothing.py MODEL_DIR 3
"""

from __future__ import annotations

import argparse
import dataclasses

from lead.models.vae import MotionVAE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("taps", type=int, help="binomial kernel taps (odd; 0 or 1 = off)")
    args = parser.parse_args()
    vae = MotionVAE.load(f"{args.model}/vae")
    dtype = next(vae.parameters()).dtype
    smoothed = MotionVAE(dataclasses.replace(vae.config, output_smoothing=args.taps))
    smoothed.load_state_dict(vae.state_dict())
    smoothed.save(f"{args.model}/vae", dtype)
    print(f"{args.model}/vae: output_smoothing {vae.config.output_smoothing} -> {args.taps}")


if __name__ == "__main__":
    main()
