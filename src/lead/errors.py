"""Errors shared by every layer."""


class LeadError(Exception):
    """An error the user can act on (bad file, bad argument). The CLI prints it on one line."""
