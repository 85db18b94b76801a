"""A real browser on the page: `lead serve` in a subprocess, Debian's headless Chromium driven over the
DevTools protocol (on a pipe: no websocket client, no browser download). It types a prompt, clicks
Generate, waits until the animation plays and checks the page state and a screenshot showing both figures.
LEAD_SERVE_SCREENSHOT=docs/serve.png saves the screenshot. The API docs page (/docs) is opened with every host but
the server's unreachable; LEAD_DOCS_SCREENSHOT=docs/api_docs.png saves its screenshot."""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (Debian: apt-get install chromium); "
                                                         ".ci/run installs it")
WIDTH, HEIGHT = 1280, 720
PROMPT = "a person waves with the left hand"


def _above_nine(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class DevTools:
    """The Chrome DevTools protocol over --remote-debugging-pipe: JSON messages ending in NUL, the browser
    reads commands on its fd 3 and writes answers and events on its fd 4."""

    def __init__(self, chromium: str, profile: Path, extra_flags: tuple[str, ...] = ()) -> None:
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        # the child's ends above 9, so that the shell's "3<&N 4>&M" never overwrites one with the other
        commands_read, answers_write = _above_nine(commands_read), _above_nine(answers_write)
        flags = ["--headless", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
                 "--no-default-browser-check", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                 *extra_flags]
        shell = f'exec "$0" "$@" 3<&{commands_read} 4>&{answers_write} {commands_read}<&- {answers_write}>&-'
        self.process = subprocess.Popen(["bash", "-c", shell, chromium, *flags],
                                        pass_fds=(commands_read, answers_write),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(answers_write)
        self._next = 0
        self._replies: dict[int, dict] = {}
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._answers, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for message in messages:
                    reply = json.loads(message)
                    if "id" in reply:
                        with self._arrived:
                            self._replies[reply["id"]] = reply
                            self._arrived.notify_all()

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        with self._arrived:
            if not self._arrived.wait_for(lambda: self._next in self._replies, timeout):
                raise TimeoutError(f"Chromium did not answer {method} within {timeout} s")
            reply = self._replies.pop(self._next)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._commands)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "lead.cli", "serve", "--port", str(port), "--threads", "1"],
                                   stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/info", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"lead serve did not come up:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    yield url
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait(evaluate, expression: str, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = evaluate(expression)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; page state: {evaluate('JSON.stringify(window.leadPage)')}")


def _concept_file(server_url: str, folder: Path) -> Path:
    """A concept file (as `lead invert` writes) for the served model's text encoder, from /api/info."""
    import torch

    from lead.inversion.concept import Concept, save_concept

    with urllib.request.urlopen(f"{server_url}/api/info") as response:
        encoder = json.loads(response.read())["text_encoder"]
    embedding = torch.randn(encoder["word_embedding_dim"], generator=torch.Generator().manual_seed(0)) * 0.05
    return save_concept(folder / "stomp.safetensors", Concept("<stomp>", embedding, encoder["identity"], "walk"))


def _figure_pixels(image: np.ndarray) -> tuple[int, int]:
    """Pixels of the LEAD figure's orange (#e8743b, shaded) and the MLD figure's blue (#4c9be8, shaded)."""
    r, g, b = (image[..., c].astype(int) for c in range(3))
    orange = (r > 120) & (r - g > 40) & (g - b > 15)
    blue = (b > 120) & (b - r > 60) & (b - g > 10)
    return int(orange.sum()), int(blue.sum())


def test_page_generates_and_plays_lead_and_mld(server_url, tmp_path):
    from PIL import Image

    browser = DevTools(CHROMIUM, tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.send("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                     mobile=False)

        def evaluate(expression: str):
            result = browser.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
            if "exceptionDetails" in result:
                raise AssertionError(f"{expression}: {result['exceptionDetails']}")
            return result["result"].get("value")

        browser.send("Page.navigate", session, url=server_url + "/")
        _wait(evaluate, "window.leadPage && window.leadPage.state === 'ready'", 30, "the page to load")
        evaluate("document.getElementById('prompt').focus()")
        browser.send("Input.insertText", session, text=PROMPT)  # typed, as a keyboard would
        box = evaluate("(() => { const r = document.getElementById('generate').getBoundingClientRect();"
                       " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            browser.send("Input.dispatchMouseEvent", session, type=kind, x=box[0], y=box[1], button="left",
                         clickCount=1)
        _wait(evaluate, "window.leadPage.state === 'playing'", 60, "the generation to play")
        first = evaluate("[window.leadPage.frame, window.leadPage.ticks]")
        # the animation advances: frames drawn and a different frame shown (software GL on a busy CPU is slow)
        _wait(evaluate, f"window.leadPage.ticks >= {first[1] + 3} && window.leadPage.frame !== {first[0]}", 30,
              "the animation to advance")
        state = json.loads(evaluate("JSON.stringify(window.leadPage)"))
        assert state["error"] is None and state["generations"] == 1
        assert state["frames"] == 80  # the form's default 4 s at 20 fps
        assert evaluate("document.body.dataset.state") == "playing"
        assert evaluate("document.getElementById('prompt').value") == PROMPT
        assert evaluate("document.querySelectorAll('#history li').length") == 1
        assert evaluate("document.querySelectorAll('#downloads a').length") == 8
        shot = browser.send("Page.captureScreenshot", session, format="png")["data"]

        # a concept file chosen in the page's file input is uploaded, and its token then works in a prompt
        concept = _concept_file(server_url, tmp_path)
        document = browser.send("DOM.getDocument", session)["root"]["nodeId"]
        node = browser.send("DOM.querySelector", session, nodeId=document, selector="#concept-file")["nodeId"]
        browser.send("DOM.setFileInputFiles", session, nodeId=node, files=[str(concept)])
        _wait(evaluate, "window.leadPage.tokens.includes('<stomp>')", 30, "the concept upload")
        evaluate("document.getElementById('prompt').value = ''; document.getElementById('prompt').focus()")
        browser.send("Input.insertText", session, text="a person <stomp> forward")
        evaluate("document.getElementById('generate').click()")
        _wait(evaluate, "window.leadPage.generations === 2 && window.leadPage.state === 'playing'", 60,
              "the generation with the concept")
        assert "<stomp>" in evaluate("document.getElementById('message').textContent")
        assert evaluate("document.querySelectorAll('#history li').length") == 2
    finally:
        browser.close()
    png = base64.b64decode(shot)
    if os.environ.get("LEAD_SERVE_SCREENSHOT"):
        Path(os.environ["LEAD_SERVE_SCREENSHOT"]).write_bytes(png)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape[:2] == (HEIGHT, WIDTH)
    width = image.shape[1]
    views = image[60:HEIGHT - 90, 330:]  # right of the form, above the controls
    half = views.shape[1] // 2
    lead_orange, _ = _figure_pixels(views[:, :half])
    _, mld_blue = _figure_pixels(views[:, half:])
    assert lead_orange > 300, f"no LEAD figure in the screenshot ({lead_orange} orange pixels of {width} wide)"
    assert mld_blue > 300, f"no MLD figure in the screenshot ({mld_blue} blue pixels)"


# The network off for the browser: every host name fails to resolve except the loopback address the server is on.
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",)


def test_api_docs_render_offline(server_url, tmp_path):
    """/docs is Swagger UI from the package's own files: with no other host reachable it still renders the API."""
    from PIL import Image

    browser = DevTools(CHROMIUM, tmp_path / "profile", extra_flags=OFFLINE)
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.send("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                     mobile=False)

        def evaluate(expression: str):
            result = browser.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
            if "exceptionDetails" in result:
                raise AssertionError(f"{expression}: {result['exceptionDetails']}")
            return result["result"].get("value")

        browser.send("Page.navigate", session, url=server_url + "/docs")
        _wait(evaluate, "document.querySelectorAll('#swagger-ui .opblock').length > 0", 30,
              "Swagger UI to render the API's operations")
        assert "lead serve" in evaluate("document.querySelector('#swagger-ui .info .title').textContent")
        paths = evaluate("[...document.querySelectorAll('#swagger-ui .opblock-summary-path')].map(e => e.textContent)")
        assert any("/api/generate" in path for path in paths), paths
        loaded = evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(server_url) for url in loaded), loaded  # nothing from a CDN
        shot = browser.send("Page.captureScreenshot", session, format="png")["data"]
    finally:
        browser.close()
    png = base64.b64decode(shot)
    if os.environ.get("LEAD_DOCS_SCREENSHOT"):
        Path(os.environ["LEAD_DOCS_SCREENSHOT"]).write_bytes(png)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape[:2] == (HEIGHT, WIDTH) and image.std() > 10  # drawn, not a blank page
