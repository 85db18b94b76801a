"""This checkout against another git revision: the same outputs (to float round-off), and how much faster.

    python benchmarks/compare_revisions.py --baseline HEAD~1 [--sizes small mld shipped] [--rounds 4] [--repeats 7]
        [--candidate REV] [--only PATH ...]

Both revisions build the models of `generation.py` at each preset size (random weights, written once by the
baseline and loaded by both), decode the same seeds through several paths (lcm 1/2/4 steps, DDIM with
guidance, batches of unequal lengths, smoothing and foot cleanup, the VAE encoder) and the largest absolute
difference of each is printed. Then the two time batch-1 generation (text encoding and decode included) in
alternating processes, `--rounds` each, so that load from other jobs on shared cores falls on both alike:
compare the ratios; take absolute numbers on quiet cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 196
PROMPT = "a person walks forward and waves"


def _pipeline(size: str, weights: Path):
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generation import build

    from lead.models.text import build_text_encoder

    pipe = build(size, build_text_encoder("minilm"))
    modules = {"vae": pipe.vae, "denoiser": pipe.denoiser, "projector": pipe.projector, "lcm": pipe.lcm}
    if weights.exists():
        for name, state in torch.load(weights).items():
            modules[name].load_state_dict(state)
    else:
        torch.save({name: module.state_dict() for name, module in modules.items()}, weights)
    return pipe


def _outputs(pipe) -> dict:
    """name → array, for every path compared."""
    import torch

    out = {}
    lengths = [FRAMES, 120, 61]
    texts = [PROMPT, "someone jumps twice", "a man turns around slowly"]
    for steps in (1, 2, 4):
        result = pipe(PROMPT, FRAMES, seed=3, num_inference_steps=steps, sampler="lcm", batch_size=1)
        out[f"lcm{steps} features"], out[f"lcm{steps} joints"] = result.features[0], result.joints[0]
    for projector in ("default", None):
        prompt = pipe.encode_prompt(texts)
        z = pipe.sample(prompt, [5, 6, 7], sampler="lcm", num_inference_steps=2)
        out[f"lcm2 batch3 projector={projector}"] = pipe.decode(z, lengths, projector).numpy()
    prompt = pipe.encode_prompt(texts[:2])
    z = pipe.sample(prompt, [1, 2], num_inference_steps=10, guidance_scale=7.5)
    out["ddim10 cfg z"] = z.numpy()
    out["ddim10 cfg decode smooth3 feet0.7"] = pipe.decode(z, lengths[:2], smoothing=3, foot_cleanup=0.7).numpy()
    features = torch.randn(3, FRAMES, pipe.vae.config.feature_dim, generator=torch.Generator().manual_seed(0))
    out["vae encode"] = pipe.latent_space.encode(features, torch.tensor(lengths), sample=False).numpy()
    return out


def _timings(pipe, repeats: int) -> dict[str, list[float]]:
    """Milliseconds of each repeat of batch-1 generation of 196 frames, whole (`pipe(...)`) and by stage."""
    prompt = pipe.encode_prompt([PROMPT])
    z = pipe.sample(prompt, [0], sampler="lcm", num_inference_steps=1)
    paths = {
        "text": lambda: pipe.encode_prompt([PROMPT]),
        "lcm 1 denoise": lambda: pipe.sample(prompt, [0], sampler="lcm", num_inference_steps=1),
        "decode (projector + VAE)": lambda: pipe.decode(z, [FRAMES]),
    }
    for steps in (1, 4):
        paths[f"lcm {steps} total"] = lambda steps=steps: pipe(PROMPT, FRAMES, seed=0, num_inference_steps=steps,
                                                               sampler="lcm", batch_size=1)
    result = {}
    for name, run in paths.items():
        run()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            samples.append(time.perf_counter() - start)
        result[name] = [1000 * sample for sample in samples]
    return result


def worker(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    with torch.inference_mode():
        pipe = _pipeline(args.size, Path(args.weights))
        if args.outputs:
            np.savez(args.outputs, **_outputs(pipe))
        print(json.dumps(_timings(pipe, args.repeats)))


def _run(tree: Path, args: argparse.Namespace, size: str, weights: Path, outputs: Path | None) -> dict:
    command = [sys.executable, __file__, "--worker", "--size", size, "--weights", str(weights),
               "--threads", str(args.threads), "--repeats", str(args.repeats)]
    if outputs is not None:
        command += ["--outputs", str(outputs)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _export(revision: str, folder: Path, paths: list[str] | None = None) -> Path:
    """`src/` (or `paths`) of `revision` written under `folder`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, *(paths or ["src"])], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _candidate(args: argparse.Namespace, temp: Path) -> Path:
    """The tree to compare: the working tree or `--candidate REV`; with `--only`, the baseline with just
    those paths taken from it (leaves out other people's unfinished changes in a shared checkout)."""
    if not args.only:
        return ROOT if args.candidate is None else _export(args.candidate, temp / "candidate")
    tree = _export(args.baseline, temp / "candidate")
    if args.candidate is not None:
        return _export(args.candidate, tree, args.only)
    for path in args.only:
        source, target = ROOT / path, tree / path
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="HEAD", help="git revision to compare against (default HEAD)")
    parser.add_argument("--candidate", help="git revision to compare (default: the working tree)")
    parser.add_argument("--only", nargs="+", help="take only these paths (e.g. src/lead/models) from the candidate")
    parser.add_argument("--sizes", nargs="+", default=["small", "mld"])
    parser.add_argument("--rounds", type=int, default=4, help="timing processes per revision, alternating")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--outputs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    import numpy as np

    candidate = args.candidate or "the working tree"
    if args.only:
        candidate += f" ({' '.join(args.only)} only)"
    print(f"baseline {args.baseline} vs {candidate}; {args.threads} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', '(unset)')}, {args.rounds} alternating rounds of {args.repeats}\n")
    rows = []
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        trees = {"baseline": _export(args.baseline, temp / "baseline"), "new": _candidate(args, temp)}
        for size in args.sizes:
            weights = temp / f"{size}.pt"
            times: dict[str, list[dict]] = {"baseline": [], "new": []}
            for round_ in range(args.rounds):
                for name, tree in trees.items():
                    outputs = temp / f"{size}-{name}.npz" if round_ == 0 else None
                    times[name].append(_run(tree, args, size, weights, outputs))
            old, new = np.load(temp / f"{size}-baseline.npz"), np.load(temp / f"{size}-new.npz")
            worst = max((float(np.abs(old[key] - new[key]).max()), key) for key in old.files)
            for key in old.files:
                print(f"{size:7s} {key:36s} max |new - baseline| = {np.abs(old[key] - new[key]).max():.2e} "
                      f"(max |baseline| {np.abs(old[key]).max():.1f})")
            print(f"{size:7s} worst: {worst[0]:.2e} ({worst[1]})\n")
            for path in times["new"][0]:
                before, after = ([sample for run in times[name] for sample in run[path]] for name in trees)
                rows.append(f"| {size} | {path} | {min(before):.1f} | {min(after):.1f} | "
                            f"{min(after) / min(before):.2f} | "
                            f"{statistics.median(before):.1f} | {statistics.median(after):.1f} | "
                            f"{statistics.median(after) / statistics.median(before):.2f} |")
    print("fastest and median of all repeats (on shared cores the fastest is the nearest to an unloaded run)\n")
    print("| size | batch 1, 196 frames | baseline fastest ms | new fastest ms | ratio | baseline median ms | "
          "new median ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
