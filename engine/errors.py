"""Errors the engine reports to its users.

Every interface (command line, HTTP, voice) turns an ``EnmsError`` into one
clear line: what went wrong and where. Anything else is a bug.
"""


class EnmsError(Exception):
    """A problem with the user's input or request, stated in one line."""


class NotFound(EnmsError):
    """A named catalog entry does not exist."""


class InvalidName(EnmsError):
    """A name that would reach SQL is not a safe identifier."""
