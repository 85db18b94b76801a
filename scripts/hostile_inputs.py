"""Hostile-input sweep (issue 13): every command and subcommand of `lead`, fed bad numbers, paths, model folders,
concept files, prompts, BVH files and datasets, plus tiny valid runs and interrupted runs.

    OMP_NUM_THREADS=1 python scripts/hostile_inputs.py                 # the whole table, 2 workers
    python scripts/hostile_inputs.py --only generate --list             # the cases of one command
    python scripts/hostile_inputs.py --only "eval t2m" --keep           # keep the workspace to look at

Each case is argv + the outcome it must have. Checks: no 'Traceback' in stdout or stderr; a bad input exits
non-zero and the last non-empty stderr line is one `... error: ...` line; a valid one exits 0; a failed run
changes nothing in its folder (its working directory, which holds every input and output place, and its TMPDIR)
and no run leaves a hidden/temporary/partial file. Interrupted runs (SIGINT/SIGTERM) must stop with
'interrupted'/'terminated', no traceback, and leave only whole files.

Speed: the commands run through `lead.cli.main` in processes forked from a multiprocessing forkserver that has
imported lead, torch and lightning once (about 8 s saved per case); `--subprocess` runs every case as its own
`python -m lead.cli` instead. The interrupted runs are always real subprocesses. The table is in scripts/hostile/
(one module per group of commands); the tiny dataset, model, evaluator and concept are built once per sweep by
the real commands (scripts/hostile/cases.py: `prepare_workspace`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile import build_cases  # noqa: E402
from hostile.cases import Case, prepare_workspace  # noqa: E402

PRELOAD = ["lead.cli", "lead.pipeline", "lead.inversion", "lead.render.plot", "lead.render.export",
           "lead.motion.retarget", "lead.data.check", "lead.data.bandai_namco", "lead.train.run",
           "lead.evaluation.protocol", "lead.evaluation.train", "lead.evaluation.motion_report",
           "lead.evaluation.tsne", "lead.models.mld_import", "lead.serve", "uvicorn", "lightning"]
ERROR_LINE = re.compile(r"^(lead|[\w.-]+\.py)( [\w-]+)*: error: \S")
LONGEST_ERROR = 600  # characters: past this a line is not "one clear line"
NOBODY = 65534


# --- the child: one command in a fresh fork of the preloaded forkserver --------------------------------------
def _child(argv: list[str], cwd: str, env: dict, as_nobody: bool, stdout: str, stderr: str) -> None:
    import atexit
    import traceback

    out = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.environ.update(env)
    tempfile.tempdir = env["TMPDIR"]
    if as_nobody:
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    os.chdir(cwd)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh interpreter has it
    code = 1
    try:
        if argv[0] == "script":  # scripts/NAME.py ARGS: run as `python scripts/NAME.py`
            import runpy

            sys.argv = argv[1:]
            runpy.run_path(argv[1], run_name="__main__")
            code = 0
        else:
            from lead.cli import main

            sys.argv = ["lead", *argv]
            code = main(argv)
    except SystemExit as stop:  # what the interpreter does with it
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)


# --- the checks ---------------------------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, tuple]:
    """Every path under `folder` (hidden ones too) → (is a folder, size, mtime)."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            found[str(path.relative_to(folder))] = (path.is_dir(), info.st_size, info.st_mtime_ns)
    return found


def _is_temporary(relative: str) -> bool:
    parts = Path(relative).parts
    if relative.startswith(".tmp/torchinductor_"):
        return False  # torch's compile cache, made by every `python -m lead.cli` run: not lead's partial output
    return any(part.startswith(".") for part in parts) or any(
        marker in parts[-1] for marker in (".partial", ".tmp", ".lock", "~"))


def judge(case: Case, code: int | None, stdout: str, stderr: str, before: dict, after: dict) -> list[str]:
    problems = []
    if code is None:
        return [f"ran past its {case.timeout:.0f} s limit (killed)"]
    if "Traceback" in stdout or "Traceback" in stderr:
        problems.append("a Python traceback")
    lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    added = sorted(set(after) - set(before))
    changed = sorted(path for path in set(after) & set(before) if not after[path][0] and after[path] != before[path])
    removed = sorted(set(before) - set(after))
    left = [path for path in added if _is_temporary(path)]
    if left:
        problems.append(f"left temporary files: {left[:5]}")
    if case.interrupt:
        if code == 0:
            problems.append("finished before the signal (make the run longer)")
        elif code not in (130, 143, -signal.SIGINT, -signal.SIGTERM):
            problems.append(f"exit {code} after {case.interrupt[0].name}")
        elif code > 0 and last not in ("lead: interrupted", "lead: terminated"):
            problems.append(f"last stderr line {last[:200]!r}, expected 'lead: interrupted'/'lead: terminated'")
        problems += case.whole_files(Path(case.folder), added)
        return problems
    if case.expect == "ok" or (case.expect == "any" and code == 0):
        if case.stopped and code == 130 and last == "lead: interrupted":
            return problems  # a server stopped by Ctrl-C, as its help says
        if code != 0:
            problems.append(f"exit {code}, expected 0; stderr ends {last[:300]!r}")
        return problems
    if code == 0:
        problems.append("exit 0, expected a refusal")
    elif not ERROR_LINE.match(last):
        problems.append(f"last stderr line is not one 'error:' line: {last[:300]!r}")
    elif len(last) > LONGEST_ERROR:
        problems.append(f"error line of {len(last)} characters: {last[:200]!r}...")
    elif case.contains and case.contains not in last:
        problems.append(f"error line lacks {case.contains!r}: {last[:300]!r}")
    if added or changed or removed:
        problems.append(f"a failed run changed its folder: added {added[:4]} changed {changed[:4]} "
                        f"removed {removed[:4]}")
    return problems


# --- running ------------------------------------------------------------------------------------------------
def _environment(case: Case) -> dict:
    """TMPDIR inside the case folder (hidden, so whatever a run leaves in it counts as a leftover)."""
    tmp = Path(case.folder) / ".tmp"
    tmp.mkdir(exist_ok=True)
    home = Path(case.folder).parent / "home"  # caches (matplotlib's font list) are not the run's output
    home.mkdir(exist_ok=True)
    home.chmod(0o777)
    return {"TMPDIR": str(tmp.resolve()), "HOME": str(home.resolve()), "COLUMNS": "120", **case.env}


def run_case(case: Case, context, use_subprocess: bool) -> dict:
    folder = Path(case.folder)
    shutil.rmtree(folder, ignore_errors=True)  # what an earlier sweep kept of this case
    folder.mkdir(parents=True)
    started = time.monotonic()
    try:
        if case.setup:
            case.setup(folder)
    except Exception as error:  # a broken case definition, not a lead problem: report it
        return {"case": case, "code": None, "problems": [f"setup failed: {type(error).__name__}: {error}"],
                "seconds": 0.0, "stderr": ""}
    env = _environment(case)
    if case.as_nobody:
        for root, folders, files in os.walk(folder):
            for name in [root, *(os.path.join(root, n) for n in folders + files)]:
                os.lchown(name, NOBODY, NOBODY)
        if case.after_chown:
            case.after_chown(folder)
    before = snapshot(folder)
    stdout_path, stderr_path = folder.parent / f"{folder.name}.out", folder.parent / f"{folder.name}.err"
    if use_subprocess or case.interrupt:
        code = _run_subprocess(case, env, stdout_path, stderr_path)
    else:
        process = context.Process(target=_child, args=(case.argv, str(folder), env, case.as_nobody,
                                                       str(stdout_path), str(stderr_path)))
        process.start()
        if case.signal_after is not None:
            process.join(case.signal_after[1])
            if process.is_alive():
                os.kill(process.pid, case.signal_after[0])
        process.join(case.timeout)
        if process.is_alive():
            process.kill()
            process.join()
            code = None
        else:
            code = process.exitcode
    after = snapshot(folder)
    stdout = stdout_path.read_text(errors="replace") if stdout_path.exists() else ""
    stderr = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
    problems = judge(case, code, stdout, stderr, before, after)
    return {"case": case, "code": code, "problems": problems, "seconds": time.monotonic() - started,
            "stderr": stderr}


def _run_subprocess(case: Case, env: dict, stdout_path: Path, stderr_path: Path) -> int | None:
    if case.argv[0] == "script":
        command = [sys.executable, *case.argv[1:]]
    else:
        command = [sys.executable, "-m", "lead.cli", *case.argv]
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(command, cwd=case.folder, stdout=out, stderr=err, env={**os.environ, **env},
                                   user=NOBODY if case.as_nobody else None, group=NOBODY if case.as_nobody else None)
        pending = case.interrupt or case.signal_after
        try:
            if pending:
                try:
                    process.wait(pending[1])
                except subprocess.TimeoutExpired:
                    process.send_signal(pending[0])
            return process.wait(case.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None


def summary(results: list[dict]) -> str:
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for result in results:
        row = rows[result["case"].command]
        row[0] += 1
        row[1 if not result["problems"] else 3] += 1
        row[2] += result["case"].expect == "ok" and not result["case"].interrupt
    lines = ["| command | cases | valid (must exit 0) | as expected | failures |", "|---|---:|---:|---:|---:|"]
    total = [0, 0, 0, 0]
    for command in sorted(rows):
        cases, fine, valid, bad = rows[command]
        lines.append(f"| {command} | {cases} | {valid} | {fine} | {bad} |")
        total = [a + b for a, b in zip(total, (cases, fine, valid, bad))]
    lines.append(f"| **all** | **{total[0]}** | **{total[2]}** | **{total[1]}** | **{total[3]}** |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="run the cases of this command (repeatable), e.g. generate")
    parser.add_argument("--match", help="run the cases whose name holds this text")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", help="workspace folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (failed cases are always kept)")
    parser.add_argument("--subprocess", action="store_true", help="every case as its own `python -m lead.cli`")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    parser.add_argument("--json", help="also write every result to this JSON file")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("MPLBACKEND", "Agg")
    workspace = Path(args.workdir or tempfile.mkdtemp(prefix="lead-hostile-")).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    workspace.chmod(0o755)  # the cases run as nobody must reach their folders
    cases = build_cases(workspace)
    if args.only:
        cases = [case for case in cases if case.command in args.only or case.command.split()[0] in args.only]
    if args.match:
        cases = [case for case in cases if args.match in case.name]
    if args.list:
        for case in cases:
            print(f"{case.command:<22} {case.expect:<4} {case.name}")
        print(f"{len(cases)} cases")
        return 0
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    started = time.monotonic()
    print(f"workspace {workspace}; building the tiny dataset, model, evaluator and concept ...", flush=True)
    prepare_workspace(workspace, lambda case: run_case(case, context, args.subprocess))
    print(f"  ready in {time.monotonic() - started:.0f} s; {len(cases)} cases on {args.workers} workers", flush=True)
    results: list[dict] = []
    lock = threading.Lock()

    def one(case: Case) -> dict:
        result = run_case(case, context, args.subprocess)
        with lock:
            results.append(result)
            mark = "ok  " if not result["problems"] else "FAIL"
            print(f"[{len(results):3d}/{len(cases)}] {mark} {result['seconds']:5.1f}s {case.command}: {case.name}",
                  flush=True)
        if not result["problems"] and not args.keep:
            shutil.rmtree(case.folder, ignore_errors=True)
        return result

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(one, sorted(cases, key=lambda case: -case.weight)))
    results.sort(key=lambda result: (result["case"].command, result["case"].name))
    failures = [result for result in results if result["problems"]]
    print(f"\n## Hostile-input sweep: {len(results)} cases, {len(failures)} failures "
          f"({time.monotonic() - started:.0f} s)\n")
    print(summary(results))
    for result in failures:
        case = result["case"]
        print(f"\n### FAIL {case.command}: {case.name}\n- argv: `lead {' '.join(map(str, case.argv))}`"
              f"\n- exit: {result['code']}\n- expected: {case.expect}")
        for problem in result["problems"]:
            print(f"- {problem}")
        if case.known:
            print(f"- known, not fixed by the sweep's author: {case.known}")
        tail = "\n".join(result["stderr"].replace("\r", "\n").strip().splitlines()[-6:])
        print(f"- stderr tail:\n```\n{tail}\n```\n- folder: {case.folder}")
    if args.json:
        Path(args.json).write_text(json.dumps([{
            "command": r["case"].command, "name": r["case"].name, "argv": r["case"].argv, "expect": r["case"].expect,
            "code": r["code"], "problems": r["problems"], "seconds": round(r["seconds"], 2)} for r in results],
            indent=1))
    if not failures and not args.keep and not args.workdir:
        shutil.rmtree(workspace, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
