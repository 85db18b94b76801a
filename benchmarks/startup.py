"""Start-up time of the `lead` command, end to end (a fresh process each run, as a user types it).

    python benchmarks/startup.py --runs 5
    git archive COMMIT src | tar -x -C /tmp/base && python benchmarks/startup.py --baseline /tmp/base/src


Times one LCM step with the shipped model (`lead generate "..." --sampler lcm --steps 1 --format none`, target
≤ 3 s) and the refusals that need no model (occupied --out, numbers out of range, missing files; target < 1.5 s),
and prints a markdown table of the median, fastest and slowest wall time of each. Each run is a whole process:
interpreter start, imports, model load, generation and writing files. The machine's load average is printed with
the table: on shared cores read the medians against it. With --baseline SRC (the `src` folder of another checkout)
each run of this tree alternates with one of that tree, so both see the same load, and the table gets its medians."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LEAD = [sys.executable, "-m", "lead.cli"]
TEXT = "a person walks forward"
GENERATE = ["generate", TEXT, "--sampler", "lcm", "--steps", "1", "--format", "none"]
TARGETS = {"generate": 3.0, "refusal": 1.5}


def cases(scratch: Path) -> list[tuple[str, str, list[str], int]]:
    """(name, kind, argv after `lead`, expected exit status); `{run}` in argv becomes the run's own folder."""
    occupied = scratch / "occupied"
    occupied.mkdir()
    (occupied / "000_a_person_walks_forward.npy").write_bytes(b"")
    return [
        ("generate, lcm 1 step, --format none", "generate", [*GENERATE, "--out", "{run}"], 0),
        ("refuse: occupied --out", "refusal", [*GENERATE, "--out", str(occupied)], 2),
        ("refuse: --steps 0", "refusal", [*GENERATE[:4], "--steps", "0", "--out", "{run}"], 2),
        ("refuse: --seconds -1", "refusal", [*GENERATE, "--seconds", "-1", "--out", "{run}"], 2),
        ("refuse: --foot-cleanup 2", "refusal", [*GENERATE, "--foot-cleanup", "2", "--out", "{run}"], 2),
        ("refuse: missing --concept file", "refusal",
         [*GENERATE, "--concept", str(scratch / "missing.safetensors"), "--out", "{run}"], 2),
        ("refuse: missing --prompts file", "refusal",
         ["generate", "--prompts", str(scratch / "missing.txt"), "--out", "{run}"], 2),
        ("lead --help", "refusal", ["--help"], 0),
    ]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(argv: list[str], expected: int, env: dict) -> tuple[float, float] | None:
    """(wall s, CPU s of the process: user + system, which load inflates less than wall time)."""
    start, cpu = time.perf_counter(), _cpu()
    done = subprocess.run([*LEAD, *argv], capture_output=True, text=True, env=env)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    if done.returncode != expected:
        if env.get("PYTHONPATH"):  # the baseline may lack a check (e.g. refuse later): no time for that case
            return None
        raise SystemExit(f"lead {' '.join(argv)} exited {done.returncode}, expected {expected}:\n{done.stderr}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per case (default 5); the median is reported")
    parser.add_argument("--baseline", type=Path, help="another checkout's src/ to time alternately with this one")
    args = parser.parse_args()
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    env.pop("PYTHONPATH", None)
    base_env = {**env, "PYTHONPATH": str(args.baseline.resolve())} if args.baseline else None
    rows, load_before = [], os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lead-startup-") as folder:
        scratch = Path(folder)
        table = cases(scratch)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in table}
        base: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in table}
        for run in range(args.runs + 1):  # the first round warms the page cache and is not counted
            for name, _kind, argv, expected in table:
                for tree_env, store in ((env, times), (base_env, base)):
                    if tree_env is None:
                        continue
                    out = scratch / f"run-{run}-{len(store[name])}-{len(base[name])}-{abs(hash(name))}"
                    timing = time_once([a.replace("{run}", str(out)) for a in argv], expected, tree_env)
                    if run and timing is not None:
                        store[name].append(timing)
        for name, kind, _argv, _expected in table:
            wall = [w for w, _ in times[name]]
            median, target = statistics.median(wall), TARGETS[kind]
            cpu = statistics.median(c for _, c in times[name])
            baseline = f" {statistics.median(w for w, _ in base[name]):.2f} |" if base[name] else " – |"
            rows.append(f"| {name} | {median:.2f} | {min(wall):.2f} | {max(wall):.2f} | {cpu:.2f} | "
                        f"{'≤' if kind == 'generate' else '<'} {target:g} | {'yes' if median <= target else 'NO'} |"
                        + (baseline if args.baseline else ""))
    load = f"{load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    print(f"{args.runs} runs per case (median of whole processes), 1-minute load average {load}, "
          f"{os.cpu_count()} CPUs, OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']}\n")
    extra = (" baseline median s |", "---|") if args.baseline else ("", "")
    print(f"| command | median s | fastest s | slowest s | CPU s (median) | target s | met |{extra[0]}")
    print(f"|---|---|---|---|---|---|---|{extra[1]}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
