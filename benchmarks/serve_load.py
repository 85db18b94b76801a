"""Load test of `lead serve` on loopback: N concurrent requests, batched (requests merged) vs one at a time.

    python benchmarks/serve_load.py [--requests 40] [--rounds 3] [--threads 1] [--seconds 5] [--steps 50]

It starts two `lead serve` processes (the shipped default model) on free loopback ports, one merging requests
into batches (--max-batch 32) and one running them one at a time (--max-batch 1), warms both up, then in
each round fires all requests at once at one server, then at the other (one client thread per request, each
prompt different) and waits for every answer (bounded by --timeout). Alternating the two in rounds keeps
other load on a shared machine from favouring one mode. Prints a markdown table per mode over all rounds:
answered / lost requests, batches the worker ran, p50/p95 latency, and prompts per second (the median
round); then the batched/one-at-a-time throughput ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ACTIONS = ["walks forward", "runs forward", "waves with the right hand", "waves with the left hand", "bows",
           "kicks", "punches", "walks backwards", "raises both hands", "dances"]
STYLES = ["happily", "sadly", "angrily", "proudly"]


def prompts(count: int) -> list[str]:
    return [f"a person {ACTIONS[i % len(ACTIONS)]} {STYLES[(i // len(ACTIONS)) % len(STYLES)]}" for i in range(count)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, body: dict, timeout: float) -> tuple[int, float, dict]:
    start = time.perf_counter()
    request = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
            return response.status, time.perf_counter() - start, answer
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - start, {}
    except OSError:
        return 0, time.perf_counter() - start, {}


def start_server(max_batch: int, threads: int | None) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    command = [sys.executable, "-m", "lead.cli", "serve", "--port", str(port), "--max-batch", str(max_batch),
               "--max-queue", "256"] + (["--threads", str(threads)] if threads else [])
    with tempfile.NamedTemporaryFile("wb", prefix=f"serve-{max_batch}-", suffix=".log", delete=False) as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    return server, f"http://127.0.0.1:{port}", log.name


def wait_until_up(server: subprocess.Popen, url: str, log: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/info", timeout=2):
                return
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.3)
    raise SystemExit(f"lead serve did not start; its log is {log}")


def status(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/api/status") as response:
        return json.loads(response.read())


def burst(url: str, args, round_index: int) -> dict:
    """All requests at once: the answered ones' latencies, the wall time and the batches the worker ran."""
    settings = {"seconds": args.seconds, "steps": args.steps}
    texts = prompts(args.requests)
    bodies = [{"text": text, "seed": 100 * round_index + i, **settings} for i, text in enumerate(texts)]
    before = status(url)["batches"]
    start = time.perf_counter()
    with ThreadPoolExecutor(len(bodies)) as pool:
        results = list(pool.map(lambda body: post(f"{url}/api/generate", body, args.timeout), bodies))
    wall = time.perf_counter() - start
    answered = [latency for code, latency, answer in results if code == 200 and len(answer.get("samples", [])) == 1]
    return {"requests": len(bodies), "latencies": answered, "wall": wall, "batches": status(url)["batches"] - before}


def summary(name: str, max_batch: int, rounds: list[dict]) -> dict:
    latencies = sorted(latency for r in rounds for latency in r["latencies"])
    requests = sum(r["requests"] for r in rounds)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] if latencies else float("nan")
    rates = [len(r["latencies"]) / r["wall"] for r in rounds]
    return {"mode": name, "max_batch": max_batch, "requests": requests, "answered": len(latencies),
            "lost": requests - len(latencies), "batches": "/".join(str(r["batches"]) for r in rounds),
            "p50": statistics.median(latencies) if latencies else float("nan"), "p95": p95,
            "rate": statistics.median(rates), "rates": rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="bursts per mode, alternating (default 3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of each server (default 1: the fair setting on a shared CPU; 0: torch's)")
    parser.add_argument("--seconds", type=float, default=5.0, help="motion length per request (default 5)")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps (default 50)")
    parser.add_argument("--max-batch", type=int, default=32, help="the batched mode's max batch (default 32)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a request may take (default 300)")
    args = parser.parse_args()
    modes = [("batched", args.max_batch), ("one at a time", 1)]
    servers = [start_server(max_batch, args.threads) for _, max_batch in modes]
    try:
        for server, url, log in servers:
            wait_until_up(server, url, log)
            post(f"{url}/api/generate", {"text": "a person walks", "seconds": args.seconds, "steps": args.steps},
                 args.timeout)  # warm-up
        rounds: list[list[dict]] = [[] for _ in modes]
        for round_index in range(args.rounds):
            for index, (_server, url, _log) in enumerate(servers):
                rounds[index].append(burst(url, args, round_index))
    finally:
        for server, _url, _log in servers:
            server.terminate()
        for server, _url, _log in servers:
            server.wait(30)
    rows = [summary(name, max_batch, mode_rounds) for (name, max_batch), mode_rounds in zip(modes, rounds)]
    threads = args.threads or "torch's default"  # 0 → lead serve without --threads
    print(f"{args.requests} concurrent requests x {args.rounds} rounds, {args.seconds:g} s motions, {args.steps} DDIM "
          f"steps, LEAD + MLD decoded per request, server torch threads: {threads}\n")
    print("| mode | max batch | requests | answered | lost | batches run per round | p50 latency s | p95 latency s "
          "| prompts/s (median round) | prompts/s per round |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        per_round = ", ".join(f"{rate:.2f}" for rate in r["rates"])
        print(f"| {r['mode']} | {r['max_batch']} | {r['requests']} | {r['answered']} | {r['lost']} | {r['batches']} "
              f"| {r['p50']:.2f} | {r['p95']:.2f} | {r['rate']:.2f} | {per_round} |")
    print(f"\nbatched / one-at-a-time throughput: {rows[0]['rate'] / rows[1]['rate']:.1f}x")


if __name__ == "__main__":
    main()
