"""The README's prompt table: generate each prompt with MLD (projector off) and LEAD from the same
latents and measure the motion (legs included) with lead.evaluation.motion_quality.

    python scripts/prompt_checks.py [--model DIR] [--seeds 0 1 2 3] [--out DIR]

Per prompt and path, averaged over the seeds: travel (m), stride (m), skating ratio, jerk (m/s³),
root-relative joint speed (m/s), the named-hand / turn / kick / bow numbers where the prompt has
them. With --out, the seed-0 motions are also written as .npy joints for rendering.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from lead.evaluation import motion_quality as mq
from lead.pipeline import DEFAULT, TextToMotionPipeline

PROMPTS = [
    ("a person walks forward happily", 100),
    ("a person walks forward", 100),
    ("a person runs forward", 80),
    ("an elderly person walks forward slowly", 100),
    ("a person walks backwards", 100),
    ("a person walks forward and turns left", 120),
    ("a person walks forward and turns right", 120),
    ("someone waves with the left hand", 80),
    ("someone waves with the right hand", 80),
    ("a person raises both hands", 60),
    ("a person kicks with the right leg", 60),
    ("the person bows politely", 60),
]


def measure(joints: np.ndarray, text: str) -> dict[str, float]:
    metrics = mq.motion_metrics(joints)
    checks = mq.semantic_checks(joints, text)
    travel = float(np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]))
    wrists = joints[:, [mq.LEFT_WRIST, mq.RIGHT_WRIST], 1]
    row = {"travel": travel, "stride": metrics["stride"], "skate": metrics["skate_ratio"], "jerk": metrics["jerk"],
           "speed": metrics["joint_speed"], "turn": mq.heading_change(joints),
           "left_wrist": float(np.ptp(wrists[:, 0])), "right_wrist": float(np.ptp(wrists[:, 1]))}
    row.update({k: v for k, v in checks.items() if k in ("kick_lift", "bow_drop")})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    texts = [t for t, _ in PROMPTS]
    lengths = [n for _, n in PROMPTS]
    rows: dict[tuple[str, str], list[dict]] = {}
    with torch.no_grad():
        for seed in args.seeds:
            seeds = [seed * 1000 + i for i in range(len(texts))]
            _, decoded, _ = next(pipe.generate_batches(texts, lengths, seeds, {"mld": None, "lead": DEFAULT},
                                                       batch_size=len(texts)))
            for path in ("mld", "lead"):
                _, positions = pipe.to_motion(decoded[path], lengths)
                for index, (text, joints) in enumerate(zip(texts, positions)):
                    rows.setdefault((text, path), []).append(measure(joints, text))
                    if args.out and seed == args.seeds[0]:
                        out = Path(args.out)
                        out.mkdir(parents=True, exist_ok=True)
                        np.save(out / f"{path}_{index:02d}_joints.npy", joints.astype(np.float32))
    print(f"seeds {args.seeds}; means over seeds\n")
    print("| prompt (s) | path | travel m | stride m | skating | jerk m/s³ | joint speed m/s | "
          "L / R wrist range m | turn ° | kick lift / bow drop m |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for text, length in PROMPTS:
        for path in ("mld", "lead"):
            values = rows[(text, path)]
            mean = {k: float(np.mean([v[k] for v in values])) for k in values[0]}
            extra = mean.get("kick_lift", mean.get("bow_drop"))
            print(f"| {text} ({length / 20:.0f}) | {path.upper()} | {mean['travel']:.2f} | {mean['stride']:.3f} | "
                  f"{mean['skate']:.2f} | {mean['jerk']:.0f} | {mean['speed']:.2f} | {mean['left_wrist']:.2f} / "
                  f"{mean['right_wrist']:.2f} | {mean['turn']:+.0f} | {'-' if extra is None else f'{extra:.2f}'} |")


if __name__ == "__main__":
    main()
