"""Concept files uploaded by a page (learned with `lead invert`), kept per page session.

An upload must be a .safetensors file under the size limit; it is read by the pipeline's own loader
(`pipe.load_concept`), which checks the format, the tensor and that it belongs to this text encoder.
A session's tokens are used by its later prompts: listed explicitly, or found in the text."""

from __future__ import annotations

import collections
import re
import tempfile
import threading
from pathlib import Path

from lead.errors import LeadError

SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN = re.compile(r"<[^<>\s]{1,40}>")
SAFETENSORS_HEADER_LIMIT = 100_000_000  # the safetensors format caps its JSON header at 100 MB


def check_session(session: str | None) -> str | None:
    if session is not None and not SESSION.match(session):
        raise LeadError("session must be 1-64 letters, digits, '-' or '_'")
    return session


class ConceptRegistry:
    def __init__(self, pipe, folder: Path, max_bytes: int, max_sessions: int, max_per_session: int) -> None:
        self.pipe = pipe
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_sessions = max_sessions
        self.max_per_session = max_per_session
        self._sessions: collections.OrderedDict[str, dict] = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, session: str, filename: str, data: bytes):
        """Validate an uploaded file and remember its concept for `session`; return the `Concept`."""
        check_session(session)
        if not session:
            raise LeadError("a concept upload needs a session (the page sends one)")
        if not filename.lower().endswith(".safetensors"):
            raise LeadError(f"{filename!r} is not a .safetensors file; upload a concept learned with `lead invert`")
        if len(data) > self.max_bytes:
            raise LeadError(f"{filename} is {len(data)} bytes; a concept file is at most {self.max_bytes} bytes")
        if len(data) < 8 or int.from_bytes(data[:8], "little") > min(len(data) - 8, SAFETENSORS_HEADER_LIMIT):
            raise LeadError(f"{filename} is not a safetensors file (its header is missing or cut short)")
        with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".safetensors") as handle:
            handle.write(data)
            handle.flush()
            try:
                concept = self.pipe.load_concept(handle.name)
            except LeadError as error:
                raise LeadError(str(error).replace(handle.name, filename)) from None
        if not TOKEN.fullmatch(concept.token):
            raise LeadError(f"{filename}: its token {concept.token!r} is not of the form <word>")
        with self._lock:
            concepts = self._sessions.pop(session, {})
            if concept.token not in concepts and len(concepts) >= self.max_per_session:
                raise LeadError(f"this page already holds {len(concepts)} concepts (at most {self.max_per_session})")
            concepts[concept.token] = concept
            self._sessions[session] = concepts
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return concept

    def tokens(self, session: str | None) -> list[str]:
        with self._lock:
            return sorted(self._sessions.get(session or "", {}))

    def for_request(self, session: str | None, text: str, tokens: list[str] | None) -> dict:
        """{token: Concept} for one prompt: the listed tokens (each must be uploaded by this session) and any
        of the session's tokens the text uses. A <token> in the text that no concept gives is refused."""
        check_session(session)
        with self._lock:
            own = dict(self._sessions.get(session or "", {}))
        chosen = {}
        for token in tokens or []:
            if token not in own:
                raise LeadError(f"concept {token} was not uploaded by this page; upload its .safetensors first")
            chosen[token] = own[token]
        for token in TOKEN.findall(text):
            if token in own:
                chosen[token] = own[token]
            else:
                raise LeadError(f"the text uses {token} but this page has uploaded no concept for it; upload the "
                                "file from `lead invert`, or remove the angle brackets")
        return chosen
