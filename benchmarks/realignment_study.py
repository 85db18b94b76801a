"""Paired realignment study: MLD against LEAD-style realigners decoding the *same* latents.

    python benchmarks/realignment_study.py --data bandai-hml --evaluator evaluators/bandai --split val \\
        --projectors projector projector-denoise-sum ... --regimes ddim:50 lcm:1 noise:0.3 --out eval/realign

For every regime the latents of one generation per split item are sampled once (one seed per item and
replication) and decoded by every row: `mld` (no projector) and each projector (a component folder name
inside the model folder, such as `projector`, the shipped one, or a folder path), with the model's
smoothing and foot cleanup. Rows are scored against the real clips of the split with the T2M evaluator
(FID, R-precision top-1/top-3, MM-Dist) and by motion quality on the joints (root-relative joint speed,
wrist range, skating ratio, jerk; stride on locomotion captions).

Regimes (any number):
  SAMPLER:STEPS[:gG]   e.g. ddim:50, ddim:10, dpm++:5, lcm:1, ddim:50:g2.5 (guidance G; default the model's)
  noise:SIGMA          the ddim:50 latents plus SIGMA times unit Gaussian noise (a noisy-latent regime)
  eps:STEPS            DDIM with the denoiser of --eps-model (e.g. an epsilon-prediction fine-tune)

Intervals are 95%: FID over replications (mean ± 1.96·sd/√R) and, paired, each row's FID minus MLD's on
the same latents; motion metrics as the mean per-item ratio to MLD's (same latent) ± 1.96·se. Prints a
markdown table per regime and writes OUT/study.json and OUT/study.md atomically.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

MOTION_KEYS = ("joint_speed", "wrist_range", "skate_ratio", "jerk", "stride")


@dataclass(frozen=True)
class Regime:
    label: str
    kind: str  # "sample", "noise" or "eps"
    sampler: str = "ddim"
    steps: int = 50
    guidance: float | None = None
    sigma: float = 0.0


def parse_regime(text: str) -> Regime:
    parts = text.split(":")
    try:
        if parts[0] == "noise" and len(parts) == 2:
            return Regime(text, "noise", sigma=float(parts[1]))
        if parts[0] == "eps" and len(parts) == 2:
            return Regime(text, "eps", steps=int(parts[1]))
        if len(parts) in (2, 3):
            guidance = float(parts[2][1:]) if len(parts) == 3 and parts[2].startswith("g") else None
            if len(parts) == 3 and guidance is None:
                raise ValueError
            return Regime(text, "sample", parts[0], int(parts[1]), guidance)
    except ValueError:
        pass
    raise SystemExit(f"regime {text!r}: use SAMPLER:STEPS[:gG], noise:SIGMA or eps:STEPS")


def load_projectors(model: Path, names: list[str]):
    from lead.models.projector import LatentProjector

    out = {}
    for name in names:
        folder = Path(name) if Path(name).is_dir() else model / name
        if not (folder / "config.json").is_file():
            raise SystemExit(f"projector {name}: no {folder}/config.json")
        out[name] = LatentProjector.load(folder).eval().requires_grad_(False)
    return out


def sample_latents(pipe, captions, seeds, regime: Regime, batch_size: int, base: dict, eps_pipe):
    """z `[N, S, D]` for every item under `regime` (noise regimes reuse the ddim:50 latents in `base`)."""
    if regime.kind == "noise":
        if "ddim:50" not in base:
            base["ddim:50"] = sample_latents(pipe, captions, seeds, Regime("ddim:50", "sample"), batch_size, base,
                                             eps_pipe)
        generator = torch.Generator().manual_seed(int(seeds[0]) + 7)
        z = base["ddim:50"]
        return z + regime.sigma * torch.randn(z.shape, generator=generator)
    source = eps_pipe if regime.kind == "eps" else pipe
    if source is None:
        raise SystemExit("the eps regime needs --eps-model")
    sampler = "ddim" if regime.kind == "eps" else regime.sampler
    parts = []
    for start in range(0, len(captions), batch_size):
        prompt = source.encode_prompt(captions[start : start + batch_size])
        parts.append(source.sample(prompt, seeds[start : start + batch_size], sampler=sampler,
                                   num_inference_steps=regime.steps, guidance_scale=regime.guidance))
    z = torch.cat(parts)
    if regime.label == "ddim:50" and regime.kind == "sample":
        base["ddim:50"] = z
    return z


def decode_rows(pipe, z, lengths, rows: dict, evaluator, batch_size: int):
    """{row: (embeddings [N, C], per-item motion metrics {key: [N]})} for each row's projector."""
    from lead.evaluation.motion_quality import motion_metrics

    out = {}
    for name, projector in rows.items():
        embeddings, metrics = [], {key: [] for key in MOTION_KEYS}
        for start in range(0, len(lengths), batch_size):
            chunk = lengths[start : start + batch_size]
            features = pipe.decode(z[start : start + batch_size], chunk, projector)
            raw, joints = pipe.to_motion(features, chunk)
            padded = torch.zeros(len(raw), 196, raw[0].shape[-1])
            for row, motion in enumerate(raw):
                padded[row, : len(motion)] = torch.from_numpy(motion)
            embeddings.append(evaluator.embed_motions(padded, torch.as_tensor(chunk)).cpu().numpy())
            for positions in joints:
                values = motion_metrics(positions)
                for key in MOTION_KEYS:
                    metrics[key].append(values[key])
        out[name] = (np.concatenate(embeddings), {k: np.asarray(v) for k, v in metrics.items()})
    return out


def fid(a: np.ndarray, b: np.ndarray) -> float:
    from lead.evaluation.metrics import fid as frechet

    return float(frechet(a, b))


def interval(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))


def study(args) -> dict:
    from lead.evaluation import metrics
    from lead.evaluation.motion_quality import LOCOMOTION
    from lead.evaluation.protocol import T2MEvalSettings, draw_split, load_evaluator, open_split
    from lead.pipeline import TextToMotionPipeline

    torch.set_grad_enabled(False)
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    model = Path(pipe.identity["path"])
    eps_pipe = TextToMotionPipeline.from_pretrained(args.eps_model) if args.eps_model else None
    evaluator, info = load_evaluator(args.evaluator)
    settings = T2MEvalSettings(split=args.split, batch_size=args.batch_size)
    dataset = open_split(args.data, settings, evaluator, info, pipe)
    rows = {"mld": None, **load_projectors(model, args.projectors)}
    regimes = [parse_regime(text) for text in args.regimes]
    results: dict = {"settings": vars(args), "evaluator": info, "regimes": {}}
    for replication in range(args.replications):
        draw = draw_split(dataset, evaluator, 2 * replication, args.batch_size)
        if args.limit:
            draw = {k: v[: args.limit] for k, v in draw.items()}
        captions, lengths = draw["captions"], draw["lengths"]
        locomotion = np.array([bool(LOCOMOTION.search(c.lower())) for c in captions])
        seeds = [1_000_000 * (args.seed + replication) + i for i in range(len(captions))]
        base: dict = {}
        for regime in regimes:
            began = time.perf_counter()
            z = sample_latents(pipe, captions, seeds, regime, args.batch_size, base, eps_pipe)
            decoded = decode_rows(pipe, z, lengths, rows, evaluator, args.batch_size)
            store = results["regimes"].setdefault(regime.label, {name: {"fid": [], "top1": [], "top3": [],
                                                                        "mm_dist": [], "motion": {}}
                                                                 for name in rows})
            for name, (embedding, motion) in decoded.items():
                group = min(32, len(embedding))  # R-precision's groups of 32 (fewer only in smoke runs)
                top, mm_dist = metrics.matching_metrics(draw["text"][: len(embedding)], embedding, 3, group,
                                                        replication)
                entry = store[name]
                entry["fid"].append(fid(embedding, draw["motion"]))
                entry["top1"].append(float(top[0]))
                entry["top3"].append(float(top[2]))
                entry["mm_dist"].append(float(mm_dist))
                for key, values in motion.items():
                    if key == "stride":
                        values = np.where(locomotion, values, np.nan)
                    entry["motion"].setdefault(key, []).extend(values.tolist())
            print(f"replication {replication} {regime.label}: {time.perf_counter() - began:.0f} s", flush=True)
    results["summary"] = summarize(results["regimes"])
    return results


def summarize(regimes: dict) -> dict:
    summary = {}
    for label, rows in regimes.items():
        base = rows["mld"]
        out = {}
        for name, entry in rows.items():
            row = {"fid": interval(entry["fid"]), "top1": interval(entry["top1"]), "top3": interval(entry["top3"]),
                   "mm_dist": interval(entry["mm_dist"]),
                   "fid_minus_mld": interval(np.subtract(entry["fid"], base["fid"]))}
            for key in MOTION_KEYS:
                mine, theirs = np.asarray(entry["motion"][key]), np.asarray(base["motion"][key])
                keep = np.isfinite(mine) & np.isfinite(theirs) & (np.abs(theirs) > 1e-9)
                row[key] = float(np.nanmean(mine))
                row[f"{key}_ratio"] = interval(mine[keep] / theirs[keep]) if keep.sum() > 1 else (1.0, 0.0)
            out[name] = row
        summary[label] = out
    return summary


def markdown(summary: dict) -> str:
    lines = []
    for label, rows in summary.items():
        lines += [f"### {label}", "",
                  "| decoder | FID ↓ | FID − MLD (paired) | top-1 ↑ | top-3 ↑ | MM-Dist ↓ | joint speed × MLD | "
                  "wrist range × MLD | skating × MLD | jerk × MLD | stride m |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, row in rows.items():
            cell = lambda v, d=3: f"{v[0]:.{d}f}±{v[1]:.{d}f}"  # noqa: E731
            lines.append(f"| {name} | {cell(row['fid'])} | {cell(row['fid_minus_mld'])} | {cell(row['top1'])} | "
                         f"{cell(row['top3'])} | {cell(row['mm_dist'])} | {cell(row['joint_speed_ratio'])} | "
                         f"{cell(row['wrist_range_ratio'])} | {cell(row['skate_ratio_ratio'])} | "
                         f"{cell(row['jerk_ratio'])} | {row['stride']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="HumanML3D-format dataset folder")
    parser.add_argument("--evaluator", required=True, help="evaluator folder (lead train evaluator)")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--projectors", nargs="*", default=["projector"],
                        help="projector component names inside the model folder, or folders")
    parser.add_argument("--regimes", nargs="+", default=["ddim:50"])
    parser.add_argument("--eps-model", default=None, help="model folder for the eps:STEPS regime")
    parser.add_argument("--split", default="val", choices=["train", "val", "test"])
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N items (smoke runs)")
    parser.add_argument("--out", required=True, help="folder for study.json and study.md")
    args = parser.parse_args()
    result = study(args)
    from lead.io import save_json, save_text

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_json(out / "study.json", result)
    table = markdown(result["summary"])
    save_text(out / "study.md", table)
    print(table)


if __name__ == "__main__":
    main()
