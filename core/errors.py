"""Errors a person can fix, shown as one line (the CLI prints them without a traceback).

The foundation of every process: raised by the broker administration, the local Kafka runner and
the CLI alike, so it lives below all of them."""


class UserError(Exception):
    """Something the user can fix; the message says what and how."""
