"""`lead serve`: the local web app (type a sentence, watch LEAD and MLD side by side in 3D)."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from lead.errors import LeadError

EPILOG = """examples:
  lead serve                                  # then open http://127.0.0.1:8000/
  lead serve --port 8080 --model models/mine
  lead serve --max-batch 1                    # no request merging (one prompt per pipeline call)
  lead serve --host 0.0.0.0                   # reachable from other machines: read the warning first

The page plays each generation in 3D (orbit, follow camera, play/pause/scrub/speed), LEAD and MLD of the
same seed side by side, with BVH/npy/mp4 downloads and concept upload (.safetensors from lead invert).
The JSON API is documented at /docs (POST /api/generate, POST /api/concepts, GET /api/files/ID)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from lead.serve.limits import ServeLimits

    limits = ServeLimits()
    parser = subparsers.add_parser(
        "serve", help="the local web app: type a sentence, watch LEAD and MLD in 3D",
        description="Serve a web page and a JSON API around one model in memory; requests are queued and merged "
                    "into batches.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", help="model folder (default: the small model shipped with lead)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also answer requests addressed to NAME (the Host header); bound to a loopback address "
                             "the server answers only localhost, 127.0.0.1 and [::1]; repeatable")
    parser.add_argument("--out", help="keep the generated files in this folder (default: a temporary folder "
                                      "removed when the server stops)")
    parser.add_argument("--max-batch", type=int, default=limits.max_batch,
                        help=f"samples merged into one pipeline call (default {limits.max_batch})")
    parser.add_argument("--max-queue", type=int, default=limits.max_queue,
                        help=f"requests that may wait; more are answered 503 busy (default {limits.max_queue})")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bindable(host: str, port: int) -> None:
    """Fail before the model loads when the address is taken or not this machine's."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise LeadError(f"--host {host}: not an address of this machine ({error.strerror})") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise LeadError(f"cannot listen on {host}:{port}: {error.strerror}; choose another --port "
                            "(or stop what is using it)") from None


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from lead.serve.limits import ServeLimits

    if not 0 <= args.port <= 65535:
        raise LeadError(f"--port must be in 0..65535, got {args.port}")
    if args.max_batch < 1 or args.max_queue < 1:
        raise LeadError("--max-batch and --max-queue must be at least 1")
    for name in args.allow_host:
        if not name.strip() or any(char in name for char in "/@ \t"):
            raise LeadError(f"--allow-host {name!r}: expected a host name such as myhost.local (no scheme, path or "
                            "spaces)")
    if args.threads is not None and args.threads < 1:
        raise LeadError(f"--threads must be at least 1 (or leave it out: torch's choice), got {args.threads}")
    if not _is_loopback(args.host):
        print(f"lead serve: WARNING: binding to {args.host}: anyone who can reach this machine can use the model "
              "and its CPU, with no login. Use the default --host 127.0.0.1 unless you mean it.", file=sys.stderr)
    _check_bindable(args.host, args.port)
    import torch
    import uvicorn

    from lead.defaults import resolve_device
    from lead.pipeline import TextToMotionPipeline
    from lead.serve import create_app

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print("lead serve: loading the model ...", file=sys.stderr, flush=True)
    pipe = TextToMotionPipeline.from_pretrained(args.model).to(device)
    limits = replace(ServeLimits(), max_batch=args.max_batch, max_queue=args.max_queue)
    hosts = None  # bound to a public address: the user chose to answer any name
    if _is_loopback(args.host) or args.allow_host:
        from lead.serve.guard import HostAllowList

        hosts = HostAllowList(args.port, [args.host, *args.allow_host])  # the bound address too (127.0.0.2)
    app = create_app(pipe, limits, args.out, hosts=hosts)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info", access_log=False)
    server = uvicorn.Server(config)
    if args.port != 0:
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(f"lead serve: open http://{shown}:{args.port}/ (API docs at /docs); Ctrl-C stops", file=sys.stderr,
              flush=True)
    server.run()
    return 0
