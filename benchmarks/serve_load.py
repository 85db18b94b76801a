"""Load test of `lead serve` on loopback: N concurrent requests, batched (requests merged) vs one at a time.

    python benchmarks/serve_load.py [--requests 40] [--threads 1] [--seconds 5] [--steps 50]

For each mode it starts `lead serve` (the shipped default model) on a free loopback port, sends one warm-up
request, then fires all requests at once (one client thread each, each prompt different) and waits for
every answer (bounded by --timeout). Prints a markdown table: answered / lost requests, the batches the
worker ran, p50/p95 latency and prompts per second; then the batched/one-at-a-time throughput ratio.
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


def start_server(max_batch: int, threads: int, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "lead.cli", "serve", "--port", str(port), "--threads", str(threads),
               "--max-batch", str(max_batch), "--max-queue", "256"]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/info", timeout=2):
                return server, url
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"lead serve did not start; its log is {log.name}")


def run_mode(name: str, max_batch: int, args) -> dict:
    with tempfile.NamedTemporaryFile("wb", prefix=f"serve-{max_batch}-", suffix=".log", delete=False) as log:
        server, url = start_server(max_batch, args.threads, log)
    try:
        settings = {"seconds": args.seconds, "steps": args.steps}
        post(f"{url}/api/generate", {"text": "a person walks", **settings}, args.timeout)  # warm-up
        with urllib.request.urlopen(f"{url}/api/status") as response:
            before = json.loads(response.read())
        bodies = [{"text": text, "seed": i, **settings} for i, text in enumerate(prompts(args.requests))]
        start = time.perf_counter()
        with ThreadPoolExecutor(len(bodies)) as pool:
            results = list(pool.map(lambda body: post(f"{url}/api/generate", body, args.timeout), bodies))
        wall = time.perf_counter() - start
        with urllib.request.urlopen(f"{url}/api/status") as response:
            after = json.loads(response.read())
    finally:
        server.terminate()
        server.wait(30)
    answered = [(latency, answer) for status, latency, answer in results
                if status == 200 and len(answer.get("samples", [])) == 1]
    latencies = sorted(latency for latency, _ in answered)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] if latencies else float("nan")
    return {"mode": name, "max_batch": max_batch, "requests": len(bodies), "answered": len(answered),
            "lost": len(bodies) - len(answered), "batches": after["batches"] - before["batches"],
            "p50": statistics.median(latencies) if latencies else float("nan"), "p95": p95, "wall": wall,
            "rate": len(answered) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the server (default 1)")
    parser.add_argument("--seconds", type=float, default=5.0, help="motion length per request (default 5)")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps (default 50)")
    parser.add_argument("--max-batch", type=int, default=32, help="the batched mode's max batch (default 32)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a request may take (default 300)")
    args = parser.parse_args()
    rows = [run_mode("batched", args.max_batch, args), run_mode("one at a time", 1, args)]
    print(f"{args.requests} concurrent requests, {args.seconds:g} s motions, {args.steps} DDIM steps, "
          f"LEAD + MLD decoded per request, server torch threads {args.threads}\n")
    print("| mode | max batch | requests | answered | lost | batches run | p50 latency s | p95 latency s "
          "| wall s | prompts/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['max_batch']} | {r['requests']} | {r['answered']} | {r['lost']} | {r['batches']} "
              f"| {r['p50']:.2f} | {r['p95']:.2f} | {r['wall']:.2f} | {r['rate']:.2f} |")
    print(f"\nbatched / one-at-a-time throughput: {rows[0]['rate'] / rows[1]['rate']:.1f}x")


if __name__ == "__main__":
    main()
