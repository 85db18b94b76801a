"""`lead eval motion`: motion quality (motion_quality.py) of real clips, VAE round trips and
generations with (LEAD) and without (MLD) the projector, side by side, as JSON and markdown.

Generations use each clip's first caption at the clip's length; MLD and LEAD decode the same sampled
latents (a paired comparison). With an evaluator, each set also gets its FID against the real clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lead.evaluation.motion_quality import SUMMARY_KEYS, Interval, summarize
from lead.evaluation.motion_sets import embed_features, mpjpe, real_clips, vae_round_trip
from lead.io import save_json, save_text

SETS = ("real", "vae", "mld", "lead")
LABELS = {
    "skate_ratio": "skating ratio", "skate_speed": "skate speed m/s", "penetration": "penetration m",
    "float_ratio": "floating ratio", "jerk": "jerk m/s³", "acceleration": "accel. m/s²",
    "stride": "stride m (locomotion)", "joint_speed": "joint speed m/s", "wrist_range": "wrist range m",
    "named_hand": "named hand ✓", "run_faster": "run > walk ✓", "turn_sign": "turn sign ✓",
    "backwards": "backwards ✓",
    "backwards_speed": "backwards speed m/s", "backwards_walk": "backwards ≥0.2 m/s ✓",
    "sideways": "sideways ✓", "kick_lift": "kick lift m", "kick_30cm": "kick ≥30 cm ✓",
    "bow_drop": "bow drop m", "bow_20cm": "bow ≥20 cm ✓",
}


@dataclass
class MotionEvalSettings:
    split: str = "test"
    sets: tuple[str, ...] = SETS
    seed: int = 0
    guidance: float | None = None  # None: the model's (its config.json)
    steps: int = 50
    batch_size: int = 32
    sampler: str = "ddim"
    min_length: int = 20
    limit: int | None = None


@torch.no_grad()
def generate_sets(pipeline, captions: list[str], lengths: list[int], settings: MotionEvalSettings,
                  paths: tuple[str, ...]) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
    """(features, joints) per caption for each of `paths` ("mld", "lead"), decoded from the same latents."""
    from lead.pipeline import DEFAULT

    out: dict[str, list[np.ndarray]] = {path: [] for path in paths}
    feats: dict[str, list[np.ndarray]] = {path: [] for path in paths}
    seeds = [settings.seed + i for i in range(len(captions))]
    projectors = {path: DEFAULT if path == "lead" else None for path in paths}
    batches = lambda starts: tqdm(starts, desc="generate", unit="batch", leave=False)  # noqa: E731
    for rows, decoded, _ in pipeline.generate_batches(
        captions, lengths, seeds, projectors, settings.batch_size, num_inference_steps=settings.steps,
        guidance_scale=settings.guidance, sampler=settings.sampler, batches=batches,
    ):
        for path, normalised in decoded.items():
            raw, joints = pipeline.to_motion(normalised, lengths[rows])
            feats[path] += raw
            out[path] += joints
    return feats, out


def _interval_dict(value: Interval) -> dict:
    return {"mean": value.mean, "ci95": value.half_width, "n": value.count}


def evaluate_motion(pipeline, data: str | Path, settings: MotionEvalSettings, evaluator=None) -> dict:
    """Every metric for every requested set; {"sets": {name: {metric: {mean, ci95, n}}}, "mpjpe": ...};
    with an evaluator also {"fid": {name: FID against the real clips' embeddings}}."""
    unknown = [s for s in settings.sets if s not in SETS]
    if unknown:
        raise ValueError(f"unknown sets {unknown}; choose from {list(SETS)}")
    skeleton = pipeline.config.skeleton
    clips = real_clips(data, settings.split, settings.min_length, pipeline.vae.config.max_length, skeleton,
                       settings.limit)
    if not clips:
        from lead.errors import LeadError

        raise LeadError(f"{data}: the {settings.split} split has no clips of at least {settings.min_length} frames")
    captions = [clip.caption for clip in clips]
    lengths = [len(clip.features) for clip in clips]
    motions: dict[str, list[np.ndarray]] = {"real": [clip.joints for clip in clips]}
    features: dict[str, list[np.ndarray]] = {"real": [clip.features for clip in clips]}
    if "vae" in settings.sets:
        features["vae"], motions["vae"] = vae_round_trip(pipeline.vae, pipeline.normalizer, features["real"],
                                                         skeleton)
    generated = tuple(s for s in ("mld", "lead") if s in settings.sets)
    if generated:
        generated_features, generated_joints = generate_sets(pipeline, captions, lengths, settings, generated)
        features.update(generated_features)
        motions.update(generated_joints)
    report: dict = {"data": str(data), "split": settings.split, "clips": len(clips), "settings": vars(settings).copy(),
                    "sets": {}}
    report["settings"]["sets"] = list(settings.sets)
    report["decoding"] = {"smoothing": pipeline.config.smoothing, "foot_cleanup": pipeline.config.foot_cleanup}
    for name in ("real", *[s for s in SETS[1:] if s in motions]):
        report["sets"][name] = {k: _interval_dict(v) for k, v in summarize(motions[name], captions).items()}
    if evaluator is not None:
        from lead.evaluation.protocol import _fid

        embeddings = {name: embed_features(evaluator, rows) for name, rows in features.items()}
        real = embeddings["real"]
        report["fid"] = {name: _fid(e, real) for name, e in embeddings.items() if name != "real"}
    if "vae" in motions:
        glob, aligned = mpjpe(motions["real"], motions["vae"])
        report["vae_mpjpe_cm"] = {"global": 100 * glob, "root_aligned": 100 * aligned}
    return report


def markdown(report: dict) -> str:
    sets = list(report["sets"])
    lines = [f"Motion quality on {report['data']} ({report['split']}, {report['clips']} clips); mean ± 95% interval "
             "(n motions in brackets where not all)."]
    if "decoding" in report:
        lines.append(f"Generated sets decoded with smoothing {report['decoding']['smoothing']} and foot cleanup "
                     f"{report['decoding']['foot_cleanup']:g}.")
    lines += ["", "| metric | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for key in SUMMARY_KEYS:
        cells = []
        for name in sets:
            value = report["sets"][name][key]
            if not value["n"]:
                cells.append("-")
                continue
            cell = f"{value['mean']:.3f}±{value['ci95']:.3f}"
            if value["n"] != report["clips"]:
                cell += f" ({value['n']})"
            cells.append(cell)
        lines.append(f"| {LABELS[key]} | " + " | ".join(cells) + " |")
    real = report["sets"]["real"]
    ratio_keys = ("stride", "skate_ratio", "joint_speed", "jerk")
    if len(sets) > 1:
        lines += ["", "Ratio to real:", "", "| set | " + " | ".join(LABELS[k] for k in ratio_keys) + " |",
                  "|---|" + "---|" * len(ratio_keys)]
        for name in sets[1:]:
            cells = [f"{report['sets'][name][k]['mean'] / real[k]['mean']:.2f}" if real[k]["mean"] else "-"
                     for k in ratio_keys]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "fid" in report:
        cells = [f"{name} {value:.3f}" if value is not None else f"{name} -" for name, value in report["fid"].items()]
        lines += ["", "FID against the real clips (evaluator embeddings of the same clips; biased upward when "
                  "there are few clips): " + ", ".join(cells) + "."]
    if "vae_mpjpe_cm" in report:
        m = report["vae_mpjpe_cm"]
        lines += ["", f"VAE round trip MPJPE: {m['root_aligned']:.2f} cm root-aligned, {m['global']:.2f} cm global."]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_json(out / "motion.json", report)
    save_text(out / "motion.md", markdown(report))
    return out / "motion.json", out / "motion.md"
