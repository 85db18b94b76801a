"""Start-up: refusals that need no model come before torch, diffusers or transformers load.

The times themselves are measured by `benchmarks/startup.py` (docs/performance.md), not asserted here: what a test
can check without a clock is that these refusals never import the heavy libraries at all."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "diffusers", "transformers", "lightning", "matplotlib", "scipy", "sklearn", "fastapi")

_PROBE = (
    "import json, sys\nfrom lead.cli import main\ncode = main(sys.argv[1:])\n"
    f"print(json.dumps({{'code': code, 'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules)}}))"
)


def _run(args: list[str], cwd) -> tuple[dict, str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _refusals(tmp_path) -> dict[str, list[str]]:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "000_a_person_walks.npy").write_bytes(b"")
    text = ["generate", "a person walks forward", "--sampler", "lcm", "--steps", "1", "--format", "none"]
    return {
        "occupied --out": [*text, "--out", str(occupied)],
        "steps out of range": [*text[:-4], "--steps", "0", "--out", str(tmp_path / "a")],
        "negative seconds": [*text, "--seconds", "-1", "--out", str(tmp_path / "b")],
        "foot cleanup out of range": [*text, "--foot-cleanup", "2", "--out", str(tmp_path / "c")],
        "unknown device": [*text, "--device", "tpu", "--out", str(tmp_path / "d")],
        "missing concept file": [*text, "--concept", str(tmp_path / "none.safetensors"), "--out", str(tmp_path / "e")],
        "missing prompts file": ["generate", "--prompts", str(tmp_path / "none.txt"), "--out", str(tmp_path / "f")],
        "empty text": ["generate", "   ", "--out", str(tmp_path / "g")],
    }


@pytest.mark.parametrize("case", [
    "occupied --out", "steps out of range", "negative seconds", "foot cleanup out of range", "unknown device",
    "missing concept file", "missing prompts file", "empty text",
])
def test_generate_refuses_before_heavy_imports(case, tmp_path):
    result, stderr = _run(_refusals(tmp_path)[case], tmp_path)
    assert result["code"] == 2, stderr
    assert stderr.startswith("lead: error: ") and stderr.count("\n") == 1, stderr
    assert result["heavy"] == [], f"{case}: imported {result['heavy']} before refusing"


def test_help_and_sampler_registry_import_nothing_heavy(tmp_path):
    probe = ("import sys\nfrom lead.cli import build_parser\nbuild_parser()\n"
             "from lead.diffusion import SAMPLERS, check_steps\ncheck_steps('lcm', 1)\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_generate_loads_only_what_generation_needs(tmp_path):
    """One LCM step with the shipped model and no video: torch and diffusers' scheduler, not transformers (MiniLM
    runs on `tokenizers` and plain torch), lightning, matplotlib, scipy, scikit-learn or fastapi."""
    result, stderr = _run(["generate", "a person walks forward", "--sampler", "lcm", "--steps", "1", "--format",
                           "none", "--out", str(tmp_path / "out")], tmp_path)
    assert result["code"] == 0, stderr
    assert result["heavy"] == ["diffusers", "torch"], result["heavy"]
    assert (tmp_path / "out" / "samples.json").is_file()
