"""Reading a long BVH take: parse + forward kinematics of a 10-minute, 120 fps CMU take.

    python benchmarks/bvh_reading.py [--minutes 10] [--repeats 3]

The take is the CMU fixture (tests/fixtures/01_01.bvh, 2,752 frames, 31 joints) repeated to the
length asked for, written to a temporary file. Prints one markdown table: wall-clock and CPU
seconds per step, best of the repeats (the CPU column counts every thread of this process).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lead.motion.bvh import read_bvh

ROOT = Path(__file__).resolve().parent.parent


def write_long_cmu_take(path: Path, frames: int) -> Path:
    """tests/tiny_data.py's builder of the long take (the test reads the same file)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lead_tests_tiny_data", ROOT / "tests" / "tiny_data.py")
    tiny_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny_data)
    return tiny_data.write_long_cmu_take(path, frames)


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    out = function()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frames = int(args.minutes * 60 * 120)
    best = {"parse": [float("inf")] * 2, "forward kinematics": [float("inf")] * 2}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.bvh"
        write_long_cmu_take(path, frames)
        size = path.stat().st_size / 2**20
        for _ in range(args.repeats):
            motion, wall, cpu = timed(lambda: read_bvh(path))
            best["parse"] = [min(best["parse"][0], wall), min(best["parse"][1], cpu)]
            _, wall, cpu = timed(motion.global_positions)
            best["forward kinematics"] = [min(best["forward kinematics"][0], wall),
                                          min(best["forward kinematics"][1], cpu)]
    print(f"{frames:,} frames x 31 joints ({size:.0f} MB), best of {args.repeats}\n")
    print("| step | wall s | CPU s |\n|---|---|---|")
    for step, (wall, cpu) in best.items():
        print(f"| {step} | {wall:.2f} | {cpu:.2f} |")
    print(f"| total | {sum(v[0] for v in best.values()):.2f} | {sum(v[1] for v in best.values()):.2f} |")


if __name__ == "__main__":
    main()
