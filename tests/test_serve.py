"""`lead serve`'s API through an HTTP client, against the real shipped default model (tiny, CPU)."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from lead.serve import ServeLimits, create_app  # noqa: E402
from lead.serve.schemas import GenerateRequest  # noqa: E402

FAST = {"steps": 5, "seconds": 2}  # 40 frames, 5 sampler steps: a real generation in a few hundredths of a second


@pytest.fixture(scope="module")
def pipe():
    from lead.pipeline import TextToMotionPipeline

    return TextToMotionPipeline.from_pretrained()


@pytest.fixture(scope="module")
def client(pipe):
    with TestClient(create_app(pipe)) as client:
        yield client


def test_generate_returns_lead_and_mld_of_the_same_seed(client):
    response = client.post("/api/generate", json={"text": "a person waves with the left hand", "seed": 3, **FAST})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["frames"] == 40 and body["fps"] == 20 and len(body["parents"]) == 22
    assert body["settings"]["seed"] == 3 and body["settings"]["steps"] == 5
    (sample,) = body["samples"]
    lead, mld = (np.array(sample["motions"][name]["joints"]) for name in ("lead", "mld"))
    assert lead.shape == mld.shape == (40, 22, 3)
    assert np.isfinite(lead).all() and not np.allclose(lead, mld)  # same z, decoded with and without the projector


def test_downloads_are_the_files_the_server_wrote(client):
    body = client.post("/api/generate", json={"text": "a person walks forward", "num_samples": 2, **FAST}).json()
    assert [s["seed"] for s in body["samples"]] == [0, 1]
    files = body["samples"][1]["motions"]["mld"]["files"]
    joints = client.get(files["joints"])
    assert joints.status_code == 200
    assert np.load(io.BytesIO(joints.content)).shape == (40, 22, 3)
    features = np.load(io.BytesIO(client.get(files["npy"]).content))
    assert features.shape == (40, 263)
    bvh = client.get(files["bvh"])  # written on first download
    assert bvh.status_code == 200 and bvh.text.startswith("HIERARCHY")
    assert "a_person_walks_forward_mld_seed1.bvh" in bvh.headers["content-disposition"]
    video = client.get(body["samples"][0]["motions"]["lead"]["files"]["mp4"])  # rendered on first download
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


@pytest.mark.parametrize("path", [
    "/api/files/000000000000-0-lead-npy", "/api/files/nothing", "/api/files/..%2F..%2Fetc%2Fpasswd",
    "/api/files/%2e%2e%2f%2e%2e%2fpyproject.toml", "/api/files/../../pyproject.toml", "/static/../../pyproject.toml",
    "/static/%2e%2e/app.py",
])
def test_unknown_or_traversal_file_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "error" in response.json()


BAD = [
    ({"text": "a person walks " * 30}, 400, "characters"),
    ({"text": "   "}, 400, "empty text"),
    ({"text": "a person walks", "seconds": -1}, 422, "seconds"),
    ({"text": "a person walks", "seconds": 0}, 422, "seconds"),
    ({"text": "a person walks", "seconds": 600}, 400, "seconds must be in"),
    ({"text": "a person walks", "sampler": "magic"}, 422, "sampler"),
    ({"text": "a person walks", "seed": -1}, 422, "seed"),
    ({"text": "a person walks", "num_samples": 50}, 400, "num_samples"),
    ({"text": "a person walks", "steps": 5000}, 400, "steps"),
    ({"text": "a person walks", "guidance": -1}, 422, "guidance"),
    ({"text": "a person <stomp> forward"}, 400, "<stomp>"),
    ({"text": "a person walks", "concepts": ["<stomp>"]}, 400, "<stomp>"),
    ({"text": "a person walks", "session": "../../x"}, 400, "session"),
    ({"text": "a person walks", "colour": "red"}, 422, "colour"),
    ({"seconds": 2}, 422, "text"),
]


@pytest.mark.parametrize(("body", "status", "words"), BAD)
def test_bad_requests_get_a_4xx_json_message(client, body, status, words):
    response = client.post("/api/generate", json=body)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    assert words in response.json()["error"]


@pytest.mark.parametrize("raw", [b'{"text": "a person walks", "seconds": NaN}', b'{"text": "a person walks", '
                                 b'"seconds": Infinity}', b'{"text": ', b"not json"])
def test_non_finite_or_broken_json_is_422(client, raw):
    response = client.post("/api/generate", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]


def _concept_bytes(pipe, tmp_path, token="<stomp>") -> bytes:
    from lead.inversion.concept import Concept, save_concept

    width = pipe.text_encoder.input_embeddings.weight.shape[-1]
    embedding = pipe.text_encoder.input_embeddings.weight[1000].detach().float().clone()
    assert embedding.shape == (width,)
    path = save_concept(tmp_path / "stomp.safetensors", Concept(token, embedding, pipe.text_encoder.identity, "walk"))
    return path.read_bytes()


def test_concept_upload_then_its_token_works_in_that_session_only(client, pipe, tmp_path):
    data = _concept_bytes(pipe, tmp_path)
    response = client.post("/api/concepts", data={"session": "page1"},
                           files={"file": ("stomp.safetensors", data, "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert response.json()["token"] == "<stomp>" and response.json()["tokens"] == ["<stomp>"]
    used = client.post("/api/generate", json={"text": "a person <stomp> forward", "session": "page1", **FAST})
    assert used.status_code == 200, used.text
    assert used.json()["concepts"] == ["<stomp>"]
    other = client.post("/api/generate", json={"text": "a person <stomp> forward", "session": "page2", **FAST})
    assert other.status_code == 400 and "<stomp>" in other.json()["error"]


@pytest.mark.parametrize(("name", "data", "words"), [
    ("stomp.pt", b"\x00" * 64, "not a .safetensors file"),
    ("stomp.safetensors", b"garbage that is no safetensors file", "not a safetensors file"),
    ("stomp.safetensors", (16).to_bytes(8, "little") + b'{"a": broken}   ', "not a readable safetensors"),
])
def test_bad_concept_uploads_are_refused(client, name, data, words):
    response = client.post("/api/concepts", data={"session": "page1"}, files={"file": (name, data)})
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


def test_an_oversized_body_is_413(client):
    response = client.post("/api/concepts", data={"session": "page1"},
                           files={"file": ("big.safetensors", b"\0" * (5 * 1024 * 1024))})
    assert response.status_code == 413 and "bytes" in response.json()["error"]


def test_a_safetensors_file_that_is_no_concept_is_refused(client, tmp_path):
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(3)}, str(tmp_path / "w.safetensors"))
    response = client.post("/api/concepts", data={"session": "page1"},
                           files={"file": ("w.safetensors", (tmp_path / "w.safetensors").read_bytes())})
    assert response.status_code == 400
    assert "not a lead concept file" in response.json()["error"]


def test_full_queue_answers_503_busy(pipe):
    app = create_app(pipe, replace(ServeLimits(), max_queue=1))
    with TestClient(app) as client:
        server = app.state.server
        server.worker.pause()
        waiting = server.worker.submit(server.make_job(GenerateRequest(text="a person runs", **FAST)))
        response = client.post("/api/generate", json={"text": "a person walks", **FAST})
        assert response.status_code == 503
        assert response.json()["busy"] is True and "busy" in response.json()["error"]
        assert response.headers["retry-after"]
        server.worker.resume()
        assert len(waiting.result(timeout=60).motions) == 1


def test_concurrent_requests_are_merged_into_batches_and_all_answered(pipe):
    app = create_app(pipe)
    texts = ["a person walks forward", "a person runs", "someone waves with the right hand", "a person bows",
             "a person kicks", "a person walks backwards"]
    with TestClient(app) as client:
        worker = app.state.server.worker
        worker.pause()  # requests pile up as they would behind a running batch
        answers: dict[int, object] = {}

        def post(index: int) -> None:
            answers[index] = client.post("/api/generate", json={"text": texts[index], "seed": index, **FAST})

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(texts))]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while worker.pending < len(texts) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.pending == len(texts)
        worker.resume()
        for thread in threads:
            thread.join(60)
        assert sorted(answers) == list(range(len(texts)))
        for index, response in answers.items():
            assert response.status_code == 200, response.text
            assert response.json()["text"] == texts[index] and response.json()["settings"]["seed"] == index
        assert worker.requests == len(texts)
        assert worker.batches < len(texts)
        assert {response.json()["batch_rows"] for response in answers.values()} == {len(texts)}


def test_info_docs_and_page_are_served(client):
    info = client.get("/api/info").json()
    assert info["variants"] == ["lead", "mld"] and info["limits"]["max_frames"] == 196
    assert info["text_encoder"]["word_embedding_dim"] > 0 and info["text_encoder"]["identity"]
    assert info["defaults"]["lcm_guidance"] == 7.5 and info["defaults"]["guidance"] >= 0  # the model's own
    assert client.get("/docs").status_code == 200
    assert "/api/generate" in client.get("/openapi.json").json()["paths"]
    page = client.get("/")
    assert page.status_code == 200 and "three" in page.text
    assert client.get("/static/vendor/three.module.js").status_code == 200


def test_serve_command_is_registered_with_examples(capsys):
    from lead.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "lead serve --port 8080" in text and "127.0.0.1" in text and "--max-batch" in text


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                                ("example.org", False), ("::", False)])
def test_only_loopback_hosts_bind_without_a_warning(host, loopback):
    from lead.commands.serve import _is_loopback

    assert _is_loopback(host) is loopback


def test_bad_or_busy_port_is_refused_before_the_model_loads(capsys):
    import socket

    from lead.cli import main

    assert main(["serve", "--port", "70000"]) == 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1])]) == 2
    assert "choose another --port" in capsys.readouterr().err


def test_api_docs_load_only_the_packages_own_files(client):
    for page, asset in (("/docs", "/static-docs/swagger-ui-bundle.js"), ("/redoc", "/static-docs/redoc.standalone.js")):
        html = client.get(page).text
        assert asset in html and "cdn" not in html.lower() and "googleapis" not in html, page
        assert client.get(asset).status_code == 200
    assert client.get("/static-docs/swagger-ui.css").status_code == 200
