"""Foot-contact cleanup settings and guidance scale against motion quality, on a split's generated motions.

    python scripts/foot_cleanup_sweep.py --data bandai-hml --evaluator evaluators/bandai --split val \
        --guidance 3 4 5.5 7.5 [--paths lead mld] [--variants off ungated-0.7 default ...]

For each guidance scale, generates once (each clip's first caption at the clip's length, seeds 0..N-1, DDIM 50:
what `lead eval motion` generates, decoded raw — smoothing as the model's, no cleanup), then applies
`lead.motion.contacts.clean_feet` with each variant to the same features and prints skating, stride, locomotion
travel, jerk, the turn and backwards checks and (with --evaluator) the FID against the split's real clips (one
motion per clip, as `lead eval motion` computes it), with the real clips' values first.

A variant is a name (`off`, `default` = FootCleanup(), `ungated-S` = the cleanup before the speed gate at
strength S with sigma 1.5) or `name=field:value,field:value` over FootCleanup's fields (strength, speed_low,
speed_high — `none` for no gate —, sigma, low, high, height), e.g. `wide=speed_low:0.6,speed_high:2.0`.
`--real-controls` (with --evaluator) first prints two controls on the real clips: the FID against themselves
after the ungated cleanup at strengths 0.3 / 0.7 / 1 (real planted feet do not slide, so it should stay ~0),
and after slowing their root uniformly to 0.9 / 0.83 / 0.75 of its speed (what losing that much travel costs).
Travel = the pelvis's straight-line horizontal distance from the first to the last frame, mean over
locomotion captions. Choose settings on --split val; report them on test.
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

DEFAULT_VARIANTS = ["off", "ungated-0.7", "ungated-1", "default", "strength:0.7", "speed_low:0.5,speed_high:1.4",
                    "speed_high:1.2", "speed_high:2.0", "sigma:1.5", "sigma:0"]


def parse_variant(spec: str) -> tuple[str, FootCleanup]:
    if spec == "off":
        return spec, FootCleanup(strength=0.0)
    if spec == "default":
        return "default " + _describe(FootCleanup()), FootCleanup()
    if spec.startswith("ungated-"):
        return spec, FootCleanup(strength=float(spec.split("-", 1)[1]), speed_high=None, sigma=1.5)
    name, _, body = spec.rpartition("=")
    fields = {}
    for item in body.split(","):
        key, _, value = item.partition(":")
        fields[key] = None if value == "none" else float(value)
    settings = FootCleanup(**fields)
    return name or _describe(settings), settings


def _describe(s: FootCleanup) -> str:
    gate = "no gate" if s.speed_high is None else f"gate {s.speed_low:g}-{s.speed_high:g} m/s"
    return f"strength {s.strength:g}, {gate}, σ {s.sigma:g}"


def slow_root(features: np.ndarray, factor: float, skeleton: str) -> np.ndarray:
    """The same motion with the root's horizontal velocity scaled by `factor` (root-velocity channels and the
    joint-velocity channels, which carry the root's displacement too); the pose is unchanged."""
    from lead.motion.features import feature_slices

    out = features.copy()
    root = out[:, [1, 2]].copy()
    out[:, [1, 2]] *= factor
    velocity = out[:, feature_slices(skeleton)["vel"]].reshape(len(out), -1, 3)
    velocity[..., [0, 2]] += (factor - 1) * root[:, None, :]
    out[:, feature_slices(skeleton)["vel"]] = velocity.reshape(len(out), -1)
    return out


def travel(joints: np.ndarray) -> float:
    return float(np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument("--evaluator", default=None, help="T2M evaluator folder: adds a FID column")
    parser.add_argument("--guidance", type=float, nargs="+", default=[None],
                        help="guidance scales, one generation each (default: the model's)")
    parser.add_argument("--paths", nargs="+", default=["lead"], choices=["lead", "mld"])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    parser.add_argument("--real-controls", action="store_true", help="also the two controls on real clips")
    args = parser.parse_args()
    variants = [parse_variant(spec) for spec in args.variants]
    torch.set_num_threads(1)
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    pipe.config.foot_cleanup = 0.0  # generate raw; the cleanup is applied below, per variant
    clips = real_clips(args.data, args.split, 20, pipe.vae.config.max_length, pipe.config.skeleton)
    captions = [clip.caption for clip in clips]
    locomotion = np.array([bool(LOCOMOTION.search(c.lower())) for c in captions])
    evaluator = real_embeddings = None
    if args.evaluator:
        from lead.evaluation.protocol import _fid, load_evaluator

        dataset = "t2m" if pipe.config.skeleton == "humanml3d" else "kit"
        evaluator, _ = load_evaluator(args.evaluator, None, None, dataset)
        real_embeddings = embed_features(evaluator, [clip.features for clip in clips])

    def measure(joints: list[np.ndarray], features: list[np.ndarray]) -> dict:
        summary = summarize(joints, captions)
        values = {key: summary[key].mean for key in ("skate_ratio", "stride", "jerk", "turn_sign", "backwards")}
        values["travel"] = float(np.mean([travel(j) for j, keep in zip(joints, locomotion) if keep]))
        values["fid"] = _fid(embed_features(evaluator, features), real_embeddings) if evaluator else None
        return values

    real = measure([clip.joints for clip in clips], [clip.features for clip in clips])
    if args.real_controls and evaluator is not None:
        real_features = [clip.features for clip in clips]
        for strength in (0.3, 0.7, 1.0):
            settings = FootCleanup(strength=strength, speed_high=None, sigma=1.5)
            cleaned = [clean_feet(f, pipe.config.skeleton, settings) for f in real_features]
            score = _fid(embed_features(evaluator, cleaned), real_embeddings)
            print(f"real clips, ungated cleanup {strength:g}: FID {score:.4f}")
        for factor in (0.9, 0.83, 0.75):
            slowed = [slow_root(f, factor, pipe.config.skeleton) for f in real_features]
            score = _fid(embed_features(evaluator, slowed), real_embeddings)
            print(f"real clips, root slowed to {factor:g}x: FID {score:.4f}")
        print()
    print(f"{len(clips)} {args.split} clips ({locomotion.sum()} locomotion), DDIM 50, "
          f"smoothing {pipe.config.smoothing}\n")
    print("| guidance | path | foot cleanup | skating (× real) | stride m | travel m (× real) | jerk m/s³ | turn ✓ "
          "| backwards ✓ | FID |\n|---|---|---|---|---|---|---|---|---|---|")
    print(f"| - | real | - | {real['skate_ratio']:.3f} | {real['stride']:.3f} | {real['travel']:.2f} "
          f"| {real['jerk']:.1f} | {real['turn_sign']:.2f} | {real['backwards']:.2f} | - |")
    for guidance in args.guidance:
        scale = pipe.resolve_guidance(guidance)
        features, _ = generate_sets(pipe, captions, [len(c.features) for c in clips],
                                    MotionEvalSettings(split=args.split, guidance=scale), tuple(args.paths))
        for path in args.paths:
            for name, settings in variants:
                cleaned = [clean_feet(f, pipe.config.skeleton, settings) for f in features[path]]
                v = measure([features_to_joints(f, pipe.config.skeleton) for f in cleaned], cleaned)
                fid = f"{v['fid']:.3f}" if v["fid"] is not None else "-"
                skate, moved = v["skate_ratio"] / real["skate_ratio"], v["travel"] / real["travel"]
                print(f"| {scale:g} | {path} | {name} | {v['skate_ratio']:.3f} ({skate:.2f}×) | {v['stride']:.3f} "
                      f"| {v['travel']:.2f} ({moved:.2f}×) | {v['jerk']:.1f} | {v['turn_sign']:.2f} "
                      f"| {v['backwards']:.2f} | {fid} |", flush=True)


if __name__ == "__main__":
    main()
