"""Training throughput (samples/s) of each stage on this machine, at the small and mld sizes.

    python benchmarks/training.py [--sizes small mld] [--batch-size 32] [--frames 196] [--steps 5]
    python benchmarks/training.py --vae-recipes --sizes small      # the VAE before/after the recipe change

One optimiser step = the stage's real loss (LightningModule.losses), backward and AdamW, on
random features of full length; the text embeddings are cached as in training. Prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lead.models.denoiser import DenoiserConfig
from lead.models.projector import ProjectorConfig
from lead.models.text import build_text_encoder
from lead.models.vae import MotionVAE, VAEConfig
from lead.train.stages import DenoiserStage, ProjectorStage, VAEStage


def throughput(stage, batch: dict, steps: int, clear_cache: bool = False) -> float:
    optimizer = stage.configure_optimizers()
    stage.train()
    times = []
    for index in range(steps + 1):
        if clear_cache:
            stage._posterior.clear()
        start = time.perf_counter()
        loss = stage.losses(batch, torch.Generator().manual_seed(index))["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index:  # the first step warms up
            times.append(time.perf_counter() - start)
    return len(batch["lengths"]) / statistics.median(times)


def vae_recipes(args: argparse.Namespace) -> None:
    generator = torch.Generator().manual_seed(0)
    batch = {"features": torch.randn(args.batch_size, args.frames, 263, generator=generator),
             "lengths": torch.full((args.batch_size,), args.frames)}
    recipes = {  # (preset, overrides): the "-global" preset is MLD's layout at that size
        "MLD layout (dropout 0.1, feature MSE)": ("-global", dict(dropout=0.1)),
        "MLD layout, dropout 0": ("-global", dict(dropout=0.0)),
        "shipped (temporal layout, 8 frames/token, dropout 0, velocity + acceleration MSE)": ("", {}),
    }
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(2):  # alternate, so that a load change on the shared cores hits both
        for size in args.sizes:
            for name, (suffix, overrides) in recipes.items():
                stage = VAEStage(VAEConfig.preset(size + suffix, **overrides))
                results.setdefault((size, name), []).append(throughput(stage, batch, args.steps))
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}, {args.frames} frames\n")
    print("| size | VAE recipe | samples/s | vs MLD recipe |\n|---|---|---|---|")
    for size in args.sizes:
        base = max(results[(size, next(iter(recipes)))])
        for name in recipes:
            best = max(results[(size, name)])
            print(f"| {size} | {name} | {best:.1f} | {best / base:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["small", "mld"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--frames", type=int, default=196)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vae-recipes", action="store_true",
                        help="only the VAE: MLD's recipe (dropout 0.1) against the shipped one (temporal layout, "
                             "dropout 0), measured alternately in this run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.vae_recipes:
        vae_recipes(args)
        return
    encoder = build_text_encoder("minilm")
    generator = torch.Generator().manual_seed(0)
    batch = {
        "features": torch.randn(args.batch_size, args.frames, 263, generator=generator),
        "lengths": torch.full((args.batch_size,), args.frames),
        "captions": [f"a person walks forward {i}" for i in range(args.batch_size)],
        "names": [f"clip{i}" for i in range(args.batch_size)],
    }
    rows = []
    for size in args.sizes:
        vae_config = VAEConfig.preset(size)
        vae = MotionVAE(vae_config)
        kw = dict(latent_size=vae_config.latent_size, latent_dim=vae_config.latent_dim, text_dim=encoder.dim)
        stages = {
            "vae": VAEStage(vae_config),
            "denoiser": DenoiserStage(DenoiserConfig.preset(size, **kw), vae, encoder, 1.0),
            "projector": ProjectorStage(ProjectorConfig.preset(size, **kw), vae, encoder, 1.0),
        }
        for name, stage in stages.items():
            if name != "vae":
                # First epoch: the frozen VAE encodes every crop; later epochs hit the posterior cache.
                first = throughput(stage, batch, args.steps, clear_cache=True)
                rows.append(f"| {size} | {name} (first epoch, VAE encoding) | {args.batch_size} | {first:.1f} |")
                name = f"{name} (cached posterior)"
            rows.append(f"| {size} | {name} | {args.batch_size} | {throughput(stage, batch, args.steps):.1f} |")
    print(f"torch {torch.__version__}, {args.threads} threads, {args.frames} frames per sample\n")
    print("| size | stage | batch | samples/s |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
