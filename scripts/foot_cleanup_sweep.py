"""Foot-contact cleanup strength against motion quality, on generated motions of a test split.

    python scripts/foot_cleanup_sweep.py --data bandai-hml [--model MODEL] [--strengths 0 0.5 0.7 1]

Generates LEAD motions once (each test clip's first caption at the clip's length, seeds 0..N-1,
DDIM 50, guidance 7.5: what `lead eval motion` generates), then applies `lead.motion.contacts`
at each strength to the same features and prints skating, jerk, stride, locomotion travel and the
caption checks, with the real clips' values in the first row; with --evaluator also the FID of
each row against the real clips (as `lead eval motion` computes it: one motion per clip).
Travel = the pelvis's straight-line horizontal distance from the first to the last frame, mean over locomotion captions.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from lead.evaluation.motion_quality import LOCOMOTION, summarize
from lead.evaluation.motion_report import MotionEvalSettings, generate_sets
from lead.evaluation.motion_sets import embed_features, real_clips
from lead.motion.contacts import FootCleanup, clean_feet
from lead.motion.features import features_to_joints
from lead.pipeline import TextToMotionPipeline


def travel(joints: np.ndarray) -> float:
    return float(np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]))


def row(name: str, motions: list[np.ndarray], captions: list[str], locomotion: np.ndarray, real: dict | None,
        fid: str = ""):
    summary = summarize(motions, captions)
    values = {key: summary[key].mean for key in ("skate_ratio", "jerk", "stride")}
    values["travel"] = float(np.mean([travel(m) for m, keep in zip(motions, locomotion) if keep]))
    ratio = (lambda key: f" ({values[key] / real[key]:.2f}×)") if real else (lambda key: "")
    checks = " | ".join(f"{summary[k].mean:.2f}" for k in ("named_hand", "run_faster", "turn_sign", "backwards"))
    print(f"| {name} | {values['skate_ratio']:.3f}{ratio('skate_ratio')} | {values['jerk']:.1f}{ratio('jerk')} | "
          f"{values['stride']:.3f}{ratio('stride')} | {values['travel']:.2f}{ratio('travel')} | {checks} |{fid}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument("--evaluator", default=None, help="T2M evaluator folder: adds a FID column")
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.5, 0.7, 0.85, 1.0])
    args = parser.parse_args()
    torch.set_num_threads(1)
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    pipe.config.foot_cleanup = 0.0  # generate raw; the cleanup is applied below at each strength
    clips = real_clips(args.data, args.split, 20, pipe.vae.config.max_length, pipe.config.skeleton)
    captions = [clip.caption for clip in clips]
    locomotion = np.array([bool(LOCOMOTION.search(c.lower())) for c in captions])
    features, _ = generate_sets(pipe, captions, [len(c.features) for c in clips], MotionEvalSettings(), ("lead",))
    print(f"{len(clips)} {args.split} clips ({locomotion.sum()} locomotion), LEAD, smoothing "
          f"{pipe.config.smoothing}\n")
    evaluator = real_embeddings = None
    if args.evaluator:
        from lead.evaluation.protocol import load_evaluator

        dataset = "t2m" if pipe.config.skeleton == "humanml3d" else "kit"
        evaluator, _ = load_evaluator(args.evaluator, None, None, dataset)
        real_embeddings = embed_features(evaluator, [clip.features for clip in clips])

    def fid(rows: list[np.ndarray]) -> str:
        if evaluator is None:
            return ""
        from lead.evaluation.protocol import _fid

        return f" {_fid(embed_features(evaluator, rows), real_embeddings):.3f} |"

    print("| foot cleanup | skating ratio | jerk m/s³ | stride m | locomotion travel m | named hand | run > walk "
          "| turn | backwards |" + (" FID |" if evaluator else "") + "\n|---|---|---|---|---|---|---|---|---|"
          + ("---|" if evaluator else ""))
    real = row("real clips", [clip.joints for clip in clips], captions, locomotion, None, " - |" if evaluator else "")
    for strength in args.strengths:
        cleaned = [clean_feet(f, pipe.config.skeleton, FootCleanup(strength=strength)) for f in features["lead"]]
        row(f"{strength:g}", [features_to_joints(f) for f in cleaned], captions, locomotion, real, fid(cleaned))


if __name__ == "__main__":
    main()
