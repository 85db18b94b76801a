"""The `lead` command: one entry point, subcommands registered by `lead.commands.*`."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading

from lead.errors import LeadError

# (module, group) — group None registers at the top level, "data"/"train"/"eval" in that group.
_COMMAND_MODULES: list[tuple[str, str | None]] = [
    ("lead.commands.generate", None),
    ("lead.commands.render", None),
    ("lead.commands.invert", None),
    ("lead.commands.serve", None),
    ("lead.commands.info", None),
    ("lead.commands.data_bvh", "data"),
    ("lead.commands.data_check", "data"),
    ("lead.commands.data_prepare", "data"),
    ("lead.commands.train", "train"),
    ("lead.commands.train_evaluator", "train"),
    ("lead.commands.evaluate", "eval"),
    ("lead.commands.import_model", "import"),
]

_GROUPS = {
    "data": "datasets: import BVH, prepare Bandai-Namco, check a HumanML3D-format folder",
    "train": "train a stage (vae, denoiser, projector, evaluator) on a HumanML3D-format folder",
    "eval": "evaluate a model: T2M protocol (FID, R-precision, ...), motion quality, t-SNE, inversion",
    "import": "turn a released MLD or MotionLCM checkpoint into a lead model folder",
}


def build_parser() -> argparse.ArgumentParser:
    from lead import __version__

    parser = argparse.ArgumentParser(
        prog="lead",
        description="LEAD: generate 3D human motion from text (latent diffusion + latent realignment).",
        epilog="Run `lead COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"lead {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for module_name, group in _COMMAND_MODULES:
        module = importlib.import_module(module_name)  # every listed command exists; a failure is a bug
        if group is None:
            module.register(top)
            continue
        if group not in groups:
            group_parser = top.add_parser(group, help=_GROUPS[group], description=_GROUPS[group])
            groups[group] = group_parser.add_subparsers(dest=f"{group}_command", metavar="SUBCOMMAND")
            group_parser.set_defaults(func=_help_of(group_parser))
        module.register(groups[group])
    return parser


def _help_of(parser: argparse.ArgumentParser):
    def show(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


class Terminated(BaseException):
    """SIGTERM (what `timeout`, schedulers and service managers send) arrived: unwinds like Ctrl-C, so every
    atomic write removes its temporary file on the way out."""


def _on_sigterm(signum, _frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _sigterm_unwinds():
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        with _sigterm_unwinds():
            return int(args.func(args) or 0)
    except LeadError as error:
        print(f"lead: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file system error no layer named (permission, disk full): still one line
        where = f"{error.filename}: " if error.filename else ""
        print(f"lead: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lead: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("lead: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except Exception as error:
        # A signal that lands while Python runs a hook which wraps exceptions (a class body's __set_name__ during
        # an import turns it into a RuntimeError) arrives as that wrapper: still Ctrl-C / SIGTERM, one line.
        stop = _interruption_in(error)
        if stop is None:
            raise
        print("lead: terminated" if stop is Terminated else "lead: interrupted", file=sys.stderr)
        return 128 + signal.SIGTERM if stop is Terminated else 130


def _interruption_in(error: BaseException) -> type | None:
    """Terminated or KeyboardInterrupt when one is the cause or context of `error` (a wrapped signal), else None."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, Terminated | KeyboardInterrupt):
            return Terminated if isinstance(error, Terminated) else KeyboardInterrupt
        error = error.__cause__ or error.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
