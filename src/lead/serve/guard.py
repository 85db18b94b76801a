"""What every request passes before a route sees it (one ASGI middleware, `RequestGuard`):

- **Host allow-list** (when set: `lead serve` sets it when bound to a loopback address). A page on another site
  whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host: answered 421, so it can
  neither drive nor read the API. `--allow-host NAME` adds names.
- **Origin** on state-changing requests (POST, PUT, PATCH, DELETE): a browser sends the page's origin; one that is
  not this server's (its scheme://Host) is answered 403, so another site cannot submit a form or an upload here.
  Requests without Origin (curl, scripts) pass.
- **Body bound before parsing**: by Content-Length (413 at once) and, for a chunked body, while it is read
  (413 as soon as it passes the limit); the route then reads the body from memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


class HostAllowList:
    """Host header values a server answers: `names` (the loopback names and any added), bare or with `port`
    (any port when `port` is None or 0: one picked at start)."""

    def __init__(self, port: int | None = None, extra: Iterable[str] = ()) -> None:
        self.names = {_bare(name) for name in (*LOOPBACK_NAMES, *extra) if name.strip()}
        self.port = port or None

    def allows(self, host: str) -> bool:
        host = host.strip().lower()
        if host.startswith("["):  # [::1]:8000
            name, _, rest = host.partition("]")
            name, port = name + "]", rest.removeprefix(":")
        else:
            name, _, port = host.partition(":")
        return _bare(name) in self.names and (not port or self.port is None or port == str(self.port))


def _bare(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    if name.startswith("[") or ":" not in name:
        return name
    return name.partition(":")[0] if name.count(":") == 1 else f"[{name}]"  # name:port -> name, ::1 -> [::1]


class RequestGuard:
    """ASGI middleware; `hosts` None answers any Host (a server bound to a public address chose that)."""

    def __init__(self, app, body_limit, hosts: HostAllowList | None = None) -> None:
        """`body_limit(path) -> bytes`: the largest body a request to `path` may send."""
        self.app, self.body_limit, self.hosts = app, body_limit, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers")
                   or []}
        host = headers.get("host", "")
        if self.hosts is not None and not self.hosts.allows(host):
            shown = host[:100] or "(none)"
            return await _answer(send, 421, f"Host {shown!r} is not a name of this server; it answers "
                                            f"{', '.join(sorted(self.hosts.names))} (start lead serve with "
                                            "--allow-host NAME to add a name)")
        origin = headers.get("origin")
        if scope.get("method", "GET").upper() in STATE_CHANGING and origin is not None:
            parts = urlsplit(origin) if origin != "null" else None
            if parts is None or parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
                return await _answer(send, 403, f"Origin {origin[:100]!r} is not this server's; requests that "
                                                "change state are accepted from this server's own page only")
        limit = self.body_limit(scope.get("path", ""))
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            return await _answer(send, 413, f"the request body is {int(declared)} bytes; at most {limit} are "
                                            "accepted here")
        body, more = [], True
        size = 0
        while more:  # read the whole (bounded) body before any parser sees it
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await _answer(send, 413, f"the request body is over {limit} bytes; at most {limit} are "
                                                "accepted here")
            body.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        return await self.app(scope, replay, send)


async def _answer(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
