"""Generation latency (batch 1) and throughput (batch 32) on CPU: MLD, LEAD, and LEAD with the lcm sampler.

    python benchmarks/generation.py [--sizes small mld shipped] [--repeats 5] [--threads 2]

Random weights at each preset size (the cost does not depend on the values), 50 DDIM steps
with classifier-free guidance, 196 frames, MiniLM text encoding. `shipped` is the model in the
package itself, with its smoothing and foot cleanup (the presets decode without them). Prints a
markdown table: per-prompt milliseconds (median of the repeats), with text encoding shown apart.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lead.models.bundle import BundleConfig
from lead.models.denoiser import DenoiserConfig, LatentDenoiser
from lead.models.projector import LatentProjector, ProjectorConfig
from lead.models.text import build_text_encoder
from lead.models.vae import MotionVAE, VAEConfig
from lead.motion.features import Normalizer
from lead.pipeline import DEFAULT, TextToMotionPipeline

FRAMES = 196


def build(preset: str, text_encoder) -> TextToMotionPipeline:
    if preset == "shipped":
        return TextToMotionPipeline.from_pretrained(text_encoder=text_encoder)
    torch.manual_seed(0)
    vae = MotionVAE(VAEConfig.preset(preset))
    kw = dict(latent_size=vae.config.latent_size, latent_dim=vae.config.latent_dim, text_dim=text_encoder.dim)
    denoiser = LatentDenoiser(DenoiserConfig.preset(preset, **kw))
    projector = LatentProjector(ProjectorConfig.preset(preset, **kw))
    lcm = LatentDenoiser(DenoiserConfig.preset(preset, **kw, guidance_embedding_dim=256))
    normalizer = Normalizer(np.zeros(263, np.float32), np.ones(263, np.float32))
    return TextToMotionPipeline(text_encoder, vae, denoiser, normalizer, BundleConfig(), projector, lcm=lcm)


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(pipe: TextToMotionPipeline, batch: int, use_projector: bool, repeats: int, sampler: str = "ddim",
            steps: int = 50) -> dict[str, float]:
    texts = [f"a person walks forward and waves {i}" for i in range(batch)]
    seeds = list(range(batch))
    lengths = [FRAMES] * batch
    prompt = pipe.encode_prompt(texts)
    z = pipe.sample(prompt, seeds, sampler=sampler, num_inference_steps=steps)
    projector = DEFAULT if use_projector else None

    def text():
        pipe.encode_prompt(texts)

    def denoise():
        pipe.sample(prompt, seeds, sampler=sampler, num_inference_steps=steps, guidance_scale=7.5)

    def decode():
        pipe.decode(z, lengths, projector)

    def full():
        pipe(texts, lengths, seed=0, guidance_scale=7.5, num_inference_steps=steps, use_projector=use_projector,
             batch_size=batch, sampler=sampler)

    return {name: 1000 * timed(fn, repeats) / batch
            for name, fn in (("text", text), ("denoise", denoise), ("decode", decode), ("total", full))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["small", "mld"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lcm-steps", type=int, nargs="*", default=[1, 4],
                        help="also time the lcm sampler (a distilled denoiser of the same size) at these steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    encoder = build_text_encoder("minilm")
    rows = []
    with torch.inference_mode():
        for size in args.sizes:
            pipe = build(size, encoder)
            for batch in args.batches:
                result = {}
                for path, use_projector in (("MLD", False), ("LEAD", True)):
                    result[path] = measure(pipe, batch, use_projector, args.repeats if batch == 1 else 2)
                for steps in args.lcm_steps:
                    result[f"LEAD, lcm {steps}"] = measure(pipe, batch, True, args.repeats if batch == 1 else 2,
                                                           "lcm", steps)
                for path, r in result.items():
                    ratio = r["total"] / result["MLD"]["total"]
                    rows.append(f"| {size} | {batch} | {path} | {r['total']:.1f} | {r['text']:.1f} | "
                                f"{r['denoise']:.1f} | {r['decode']:.1f} | {ratio:.3f} |")
    print(f"torch {torch.__version__}, {args.threads} threads, {FRAMES} frames, MLD/LEAD: 50 DDIM steps with "
          "guidance 7.5 (two denoiser rows per step); lcm N: N steps of the distilled denoiser (one row)\n")
    print("| size | batch | path | total ms/prompt | text ms | denoise ms | decode(+proj) ms | vs MLD |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
