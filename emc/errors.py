"""Errors shown to a person as one line (the CLI prints them without a traceback)."""


class CliError(Exception):
    """Something the user can fix; the message says what and how."""
