"""VAE reconstruction error on held-out clips: mean joint position error in centimetres.

    python benchmarks/vae_reconstruction.py --model runs/default --data bandai-hml [--split test]

Each clip (whole length, up to the model's maximum) is encoded to the posterior mean,
decoded, de-normalised and turned into joints with `features_to_joints`; the error is the
mean over frames and joints of the Euclidean distance to the joints recovered from the
real features, reported with the global root trajectory (MPJPE) and root-aligned.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from lead.data.humanml3d import MotionDataset, collate_motions
from lead.models.bundle import read_bundle_config
from lead.models.vae import MotionVAE
from lead.motion.features import Normalizer, features_to_joints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--min-length", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = read_bundle_config(args.model)
    vae = MotionVAE.load(f"{args.model}/vae").eval()
    normalizer = Normalizer.load(args.model)
    dataset = MotionDataset(args.data, args.split, skeleton=config.skeleton, normalizer=normalizer,
                            min_length=args.min_length, max_length=vae.config.max_length, unit=1, seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, collate_fn=collate_motions)
    errors, aligned, names = [], [], set()
    with torch.inference_mode():
        for batch in loader:
            latent, _, _ = vae.encode(batch["features"], batch["lengths"], sample=False)
            recon = vae.decode(latent, batch["lengths"])
            for i, length in enumerate(batch["lengths"].tolist()):
                if batch["names"][i] in names:  # one entry per clip, not per caption
                    continue
                names.add(batch["names"][i])
                real = features_to_joints(normalizer.denormalize(batch["features"][i, :length].numpy()))
                fake = features_to_joints(normalizer.denormalize(recon[i, :length].numpy()))
                errors.append(np.linalg.norm(real - fake, axis=-1).mean())
                aligned.append(np.linalg.norm((real - real[:, :1]) - (fake - fake[:, :1]), axis=-1).mean())
    print(f"{len(errors)} {args.split} clips of {args.data}")
    print("| metric | cm |\n|---|---|")
    print(f"| MPJPE (global, with root trajectory) | {100 * np.mean(errors):.2f} |")
    print(f"| MPJPE (root-aligned) | {100 * np.mean(aligned):.2f} |")


if __name__ == "__main__":
    main()
