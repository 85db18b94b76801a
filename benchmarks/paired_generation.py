"""Generation time of this tree against another checkout of lead, in one paired run.

    python benchmarks/paired_generation.py --baseline /path/to/old/checkout [--size mld] [--rounds 5]

Each round runs one worker process per tree, alternating (old, new, old, new, ...), so both see the
same machine load; each worker builds the preset with random weights (seed 0; the cost does not depend
on the values), warms up, and times full `pipeline(...)` calls: 50 DDIM steps, guidance 7.5, 196 frames,
LEAD path, at batch 1 and 32, with the given torch threads. Prints per-prompt milliseconds (median
over rounds of each worker's median) and new/old ratios as a markdown table. Set
OMP_WAIT_POLICY=PASSIVE on shared cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, statistics, sys, time
import torch
sys.path.insert(0, sys.argv[1] + "/benchmarks")
torch.set_num_threads(int(sys.argv[3]))
from generation import build
from lead.models.text import build_text_encoder
pipe = build(sys.argv[2], build_text_encoder("minilm"))
out = {}
with torch.inference_mode():
    for batch, repeats in ((1, int(sys.argv[4])), (32, 1)):
        texts = [f"a person walks forward and waves {i}" for i in range(batch)]
        call = lambda: pipe(texts, [196] * batch, seed=0, guidance_scale=7.5, num_inference_steps=50, batch_size=batch)
        call()
        times = []
        for _ in range(repeats):
            start = time.perf_counter(); call(); times.append(time.perf_counter() - start)
        out[batch] = 1000 * statistics.median(times) / batch
print(json.dumps(out))
"""


def run_worker(tree: Path, size: str, threads: int, repeats: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    result = subprocess.run([sys.executable, "-c", WORKER, str(tree), size, str(threads), str(repeats)],
                            env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="another lead checkout (e.g. a git worktree)")
    parser.add_argument("--size", default="mld")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--repeats", type=int, default=5, help="timed batch-1 calls per worker")
    args = parser.parse_args()
    trees = {"baseline": Path(args.baseline).resolve(), "this tree": Path(__file__).resolve().parents[1]}
    print(f"{args.size} size, 50 DDIM steps, guidance 7.5, 196 frames, LEAD path, {args.rounds} rounds\n")
    print("| threads | batch | baseline ms/prompt | this tree ms/prompt | ratio |\n|---|---|---|---|---|")
    for threads in args.threads:
        samples: dict[str, dict[str, list[float]]] = {name: {"1": [], "32": []} for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                for batch, value in run_worker(tree, args.size, threads, args.repeats).items():
                    samples[name][str(batch)].append(value)
        for batch in ("1", "32"):
            old = statistics.median(samples["baseline"][batch])
            new = statistics.median(samples["this tree"][batch])
            print(f"| {threads} | {batch} | {old:.1f} | {new:.1f} | {new / old:.3f} |")


if __name__ == "__main__":
    main()
