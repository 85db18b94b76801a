"""Issue 28, `lead serve`: Host allow-list on loopback (DNS rebinding), Origin on state-changing requests, bodies
bounded before parsing, and no 500 for anything the schema accepts (text, numbers, concept uploads)."""

from __future__ import annotations

import json
import struct

import pytest
import torch

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from lead.serve import create_app  # noqa: E402
from lead.serve.guard import HostAllowList  # noqa: E402

FAST = {"steps": 2, "seconds": 1}


@pytest.fixture(scope="module")
def pipe():
    from lead.pipeline import TextToMotionPipeline

    return TextToMotionPipeline.from_pretrained()


@pytest.fixture(scope="module")
def guarded(pipe):
    """A server as `lead serve --port 8000 --allow-host motion.local` bound to 127.0.0.1 builds it."""
    with TestClient(create_app(pipe, hosts=HostAllowList(8000, ["motion.local"])),
                    base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.mark.parametrize("host, allowed", [
    ("127.0.0.1:8000", True), ("localhost:8000", True), ("[::1]:8000", True), ("LOCALHOST", True),
    ("motion.local:8000", True), ("localhost.:8000", True),
    ("evil.example:8000", False), ("127.0.0.1:9999", False), ("localhost.evil.example", False), ("", False),
    ("127.0.0.1.nip.io:8000", False), ("[::2]:8000", False),
], ids=lambda value: str(value))
def test_host_allow_list(guarded, host, allowed):
    response = guarded.get("/api/status", headers={"host": host})
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 421
        assert "--allow-host" in response.json()["error"]


def test_a_rebinding_page_cannot_generate(guarded):
    response = guarded.post("/api/generate", json={"text": "a person walks", **FAST},
                            headers={"host": "attacker.example:8000", "origin": "http://attacker.example:8000"})
    assert response.status_code == 421


@pytest.mark.parametrize("origin, status", [
    ("http://127.0.0.1:8000", 200), (None, 200),
    ("http://evil.example", 403), ("null", 403), ("http://127.0.0.1:8001", 403), ("http://localhost:8000", 403),
    ("file://", 403),
])
def test_origin_is_checked_on_state_changing_requests(guarded, origin, status):
    headers = {"origin": origin} if origin else {}
    response = guarded.post("/api/generate", json={"text": "a person walks", **FAST}, headers=headers)
    assert response.status_code == status, response.text[:200]
    if status == 403:
        assert "Origin" in response.json()["error"]
    assert guarded.get("/api/info", headers={"origin": "http://evil.example"}).status_code == 200  # reads: no


def test_a_concept_upload_from_a_foreign_origin_is_refused(guarded):
    response = guarded.post("/api/concepts", data={"session": "page1"}, headers={"origin": "http://evil.example"},
                            files={"file": ("c.safetensors", b"x" * 64)})
    assert response.status_code == 403


def test_bodies_are_bounded_before_parsing(guarded):
    big = json.dumps({"text": "a person walks", "pad": "x" * 70_000})
    declared = guarded.post("/api/generate", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and "65536" in declared.json()["error"]

    def chunks():  # no Content-Length: a chunked body, stopped as soon as it passes the limit
        for _ in range(100):
            yield b"x" * 10_000

    chunked = guarded.post("/api/generate", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413 and "65536" in chunked.json()["error"]


def test_an_unguarded_app_answers_any_host(pipe):
    with TestClient(create_app(pipe)) as client:
        assert client.get("/api/status", headers={"host": "anything.example"}).status_code == 200


# --- no 500 for JSON the schema accepts ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, words", [
    ({"text": "a person walks", "seconds": 1e308}, "seconds must be in"),
    ({"text": "a person walks", "seconds": 1.7976931348623157e308}, "seconds must be in"),
    ({"text": "a person walks", "seconds": 5e-324}, "seconds must be in"),
    ({"text": "a person \ud800 walks"}, "lone surrogate U+D800"),
    ({"text": "\udcff"}, "not UTF-8"),
    ({"text": "a person walks", "seed": 2**70}, "seed must be in"),
    ({"text": "a person walks", "steps": 2**70}, "steps must be in"),
    ({"text": "a person walks", "num_samples": 2**70}, "num_samples must be in"),
    ({"text": "a person walks", "guidance": 1e308}, "guidance must be in"),
    ({"text": "\u2028\f\u3000"}, "empty text"),
], ids=["seconds 1e308", "seconds max float", "seconds denormal", "lone surrogate", "escaped byte", "seed 2**70",
        "steps 2**70", "num_samples 2**70", "guidance 1e308", "only separators"])
def test_json_the_schema_accepts_is_never_500(guarded, body, words):
    raw = json.dumps(body).encode()  # json.dumps escapes lone surrogates as \ud800, as a page would send them
    response = guarded.post("/api/generate", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert words in response.json()["error"]


def _safetensors(tensors: dict[str, tuple[str, list[int], bytes]], metadata: dict[str, str]) -> bytes:
    header = {name: {"dtype": dtype, "shape": shape, "data_offsets": [0, 0]} for name, (dtype, shape, _) in
              tensors.items()}
    offset, payload = 0, b""
    for name, (_, _, data) in tensors.items():
        header[name]["data_offsets"] = [offset, offset + len(data)]
        offset += len(data)
        payload += data
    header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + payload


def _concept(pipe, **metadata) -> dict:
    width = pipe.text_encoder.input_embeddings.weight.shape[-1]
    data = torch.zeros(width, dtype=torch.float32).numpy().tobytes()
    fields = {"format": "lead-concept", "token": "<odd>", "text_encoder_identity": pipe.text_encoder.identity,
              "init_word": "walk", **metadata}
    return {"embedding": ("F32", [width], data)}, fields


CONCEPTS = {
    "F8_E4M3 embedding": (lambda pipe, width: ({"embedding": ("F8_E4M3", [width], b"\x00" * width)},
                                               _concept(pipe)[1]), "float8_e4m3fn"),
    "model a JSON list": (lambda pipe, width: _concept(pipe, model="[1, 2]"), "'model' must be a JSON object"),
    "losses strings": (lambda pipe, width: _concept(pipe, losses='["a", "b"]'), "'losses' must be a list of numbers"),
    "examples a number": (lambda pipe, width: _concept(pipe, examples="3"), "'examples' must be a list of file"),
    "examples 100,000 deep": (lambda pipe, width: _concept(pipe, examples="[" * 100_000 + "]" * 100_000),
                              "nested too deeply"),
    "losses a dict": (lambda pipe, width: _concept(pipe, losses='{"a": 1}'), "'losses' must be a list"),
    "steps 1e400": (lambda pipe, width: _concept(pipe, steps="1e400"), "'steps'='1e400' is not a number"),
    "I64 embedding": (lambda pipe, width: ({"embedding": ("I64", [width], b"\x00" * 8 * width)},
                                           _concept(pipe)[1]), "int64"),
}


@pytest.mark.parametrize("case", list(CONCEPTS))
def test_concept_uploads_that_parse_but_are_wrong_are_4xx(guarded, pipe, case):
    build, words = CONCEPTS[case]
    width = pipe.text_encoder.input_embeddings.weight.shape[-1]
    tensors, metadata = build(pipe, width)
    response = guarded.post("/api/concepts", data={"session": "page1"},
                            files={"file": ("odd.safetensors", _safetensors(tensors, metadata))})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert words in response.json()["error"]


def test_allow_host_names_are_checked(capsys):
    from lead.cli import main

    assert main(["serve", "--allow-host", "http://x/", "--port", "0"]) == 2
    assert "--allow-host 'http://x/'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, allowed, refused", [
    ([], ["127.0.0.1:8123", "localhost"], ["motion.local"]),
    (["--allow-host", "motion.local"], ["motion.local:8123"], ["evil.example"]),
    (["--host", "0.0.0.0"], None, None),
], ids=["loopback", "--allow-host", "public bind"])
def test_the_serve_command_builds_the_host_allow_list(monkeypatch, capsys, argv, allowed, refused):
    import uvicorn

    import lead.serve as serve_package
    from lead.cli import main

    seen = {}

    def create_app_spy(pipe, limits, folder, hosts=None):
        seen["hosts"] = hosts
        return object()

    monkeypatch.setattr(serve_package, "create_app", create_app_spy)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)
    assert main(["serve", "--port", "0", *argv]) == 0
    if allowed is None:
        assert seen["hosts"] is None
        return
    assert all(seen["hosts"].allows(host) for host in allowed)
    assert not any(seen["hosts"].allows(host) for host in refused)
