"""Errors the engine reports to its users.

Every interface (command line, HTTP, voice) turns an ``EnmsError`` into one
clear line: what went wrong and where. Anything else is a bug.

The message is English, for logs and the command line. An error a spoken or
translated interface may show also carries a ``code`` (a short stable word,
e.g. ``too_little_data``) and ``params`` (the names, numbers and dates the
message is built from, not yet formatted), so the voice skill says it in the
utterance's language from its own dialogs (``error.<code>.dialog``) instead
of reading out the English.
"""


class EnmsError(Exception):
    """A problem with the user's input or request, stated in one line."""

    def __init__(self, message: str = "", code: str | None = None,
                 params: dict | None = None):
        super().__init__(message)
        self.code = code
        self.params = dict(params or {})


class NotFound(EnmsError):
    """A named catalog entry does not exist."""


class InvalidName(EnmsError):
    """A name that would reach SQL is not a safe identifier."""
