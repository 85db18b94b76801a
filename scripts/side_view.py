"""A side view of a generated motion, one row per decoding setting: the skeleton every few frames
(left limbs red, right blue, later frames darker) and both toes' paths — to look at steps, planted
feet and skating, not only at numbers.

    python scripts/side_view.py "a person walks forward" --seconds 5 --seed 1 --foot-cleanup 0 1 --out walk.png

Prints each row's pelvis travel and skating ratio.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lead.evaluation.motion_quality import skating  # noqa: E402
from lead.motion.skeleton import resolve_skeleton  # noqa: E402
from lead.pipeline import TextToMotionPipeline  # noqa: E402

LEFT, RIGHT = (1, 4, 7, 10, 13, 16, 18, 20), (2, 5, 8, 11, 14, 17, 19, 21)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--foot-cleanup", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--every", type=int, default=6, help="draw every Nth frame (default 6)")
    parser.add_argument("--out", default="side_view.png")
    args = parser.parse_args()
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    frames = int(round(args.seconds * pipe.config.fps))
    parents = resolve_skeleton(pipe.config.skeleton).parents
    fig, axes = plt.subplots(len(args.foot_cleanup), 1, figsize=(16, 3 * len(args.foot_cleanup)), squeeze=False)
    for ax, strength in zip(axes[:, 0], args.foot_cleanup):
        joints = pipe(args.text, frames, seed=args.seed, foot_cleanup=strength).joints[0]
        forward = joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]
        travel = float(np.linalg.norm(forward))
        axis = forward / travel if travel > 1e-6 else np.array([0.0, 1.0])
        along = joints[..., [0, 2]] @ axis  # horizontal position along the direction of travel
        for t in range(0, frames, args.every):
            shade = 0.35 + 0.65 * t / max(1, frames - 1)
            for child, parent in enumerate(parents):
                if parent < 0:
                    continue
                colour = "tab:red" if child in LEFT else "tab:blue" if child in RIGHT else "black"
                ax.plot(along[t, [child, parent]], joints[t, [child, parent], 1], color=colour, alpha=shade, lw=1)
        ax.plot(along[:, 10], joints[:, 10, 1], ":", color="tab:red", lw=0.8)
        ax.plot(along[:, 11], joints[:, 11, 1], ":", color="tab:blue", lw=0.8)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_aspect("equal")
        ratio = skating(joints)[0]
        ax.set_title(f"{args.text!r}, seed {args.seed}, foot cleanup {strength:g}: travel {travel:.2f} m, "
                     f"skating {ratio:.2f}")
        print(f"foot cleanup {strength:g}: travel {travel:.2f} m, skating ratio {ratio:.2f}")
    plt.tight_layout()
    plt.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
