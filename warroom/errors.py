"""The error every layer may raise for the CLI to print as one line and exit 1."""


class UserError(Exception):
    """Something the user can fix; ``str()`` is the whole message, one line, no traceback."""
