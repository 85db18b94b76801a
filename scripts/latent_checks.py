"""Diagnostics of a model's latent space (docs/denoiser_sweep.md).

    python scripts/latent_checks.py stats MODEL --data DATA      # sampled vs real z: std, neighbour-token corr.
    python scripts/latent_checks.py noise MODEL --data DATA      # decode real z + sigma*noise: skating, FID
    python scripts/latent_checks.py x0 MODEL --data DATA         # the denoiser's z0 estimate from noised real z

All on the test split (stats and x0: the first 192 / 64 clips), one torch thread, seed 0.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from lead.data.humanml3d import normalised_batch
from lead.diffusion import add_noise, predict_x0
from lead.evaluation.motion_sets import embed_features, real_clips
from lead.pipeline import TextToMotionPipeline


def real_latents(pipe, clips) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for start in range(0, len(clips), 64):
            batch, lengths = normalised_batch(pipe.normalizer, [c.features for c in clips[start : start + 64]])
            out.append(pipe.latent_space.encode(batch, lengths, sample=False))
    return torch.cat(out)


def describe(z: torch.Tensor) -> str:
    corr = np.corrcoef(z[:, :-1].flatten().numpy(), z[:, 1:].flatten().numpy())[0, 1]
    return f"std {z.std().item():.3f}, neighbour-token correlation {corr:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=["stats", "noise", "x0"])
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--evaluator", default=None, help="T2M evaluator folder (noise: FID)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    clips = real_clips(args.data, "test")
    if args.check == "stats":
        clips = clips[:192]
        z = real_latents(pipe, clips)
        parts = []
        with torch.no_grad():
            for s in range(0, len(clips), 64):
                chunk = clips[s : s + 64]
                prompt = pipe.encode_prompt([c.caption for c in chunk])
                parts.append(pipe.sample(prompt, list(range(s, s + len(chunk)))))
        sampled = torch.cat(parts)
        print(f"real z: {describe(z)}\nsampled z: {describe(sampled)}")
    elif args.check == "x0":
        clips = clips[:64]
        z = real_latents(pipe, clips)
        condition = pipe.encode_prompt([c.caption for c in clips]).condition
        generator = torch.Generator().manual_seed(0)
        print("| t | z0 MSE | z0 estimate std | neighbour corr |\n|---|---|---|---|")
        with torch.no_grad():
            for t in (10, 50, 200, 500, 800, 950):
                noise = torch.randn(z.shape, generator=generator)
                steps = torch.full((len(z),), t)
                noisy = add_noise(z, noise, steps)
                x0 = predict_x0(noisy, pipe.denoiser(noisy, steps, condition), steps,
                                pipe.denoiser.config.prediction_type)
                corr = np.corrcoef(x0[:, :-1].flatten().numpy(), x0[:, 1:].flatten().numpy())[0, 1]
                print(f"| {t} | {((x0 - z) ** 2).mean().item():.4f} | {x0.std().item():.3f} | {corr:.3f} |")
    else:
        from lead.evaluation.motion_quality import summarize
        from lead.evaluation.protocol import _fid, load_evaluator

        evaluator = load_evaluator(args.evaluator, None, None, "t2m")[0] if args.evaluator else None
        z = real_latents(pipe, clips)
        captions, lengths = [c.caption for c in clips], [len(c.features) for c in clips]
        reference = embed_features(evaluator, [c.features for c in clips]) if evaluator else None
        generator = torch.Generator().manual_seed(0)
        print("| sigma | skating ratio | jerk m/s³ | stride m | FID |\n|---|---|---|---|---|")
        for sigma in (0.0, 0.2, 0.4):
            noisy = z + sigma * torch.randn(z.shape, generator=generator)
            features, joints = [], []
            with torch.no_grad():
                for s in range(0, len(clips), 64):
                    f, j = pipe.to_motion(pipe.decode(noisy[s : s + 64], lengths[s : s + 64], projector=None),
                                          lengths[s : s + 64])
                    features += f
                    joints += j
            m = summarize(joints, captions)
            fid = f"{_fid(embed_features(evaluator, features), reference):.2f}" if evaluator else "-"
            print(f"| {sigma} | {m['skate_ratio'].mean:.3f} | {m['jerk'].mean:.1f} | {m['stride'].mean:.3f} | {fid} |")


if __name__ == "__main__":
    main()
