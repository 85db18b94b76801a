"""Subcommands of the `lead` command line.

Each module here defines `register(subparsers)`, adding its parser(s) with
`set_defaults(func=...)`; a `func(args) -> int` returns the exit code. Heavy imports
happen inside `func` so that `lead --help` stays instant.
"""
