"""Validation of names that become SQL identifiers.

Energy-source and measurement-column names become table and column names
(``natural_gas_readings.flow_rate_m3h``). They are checked here, once, against
a strict pattern; nothing user-typed is ever pasted into SQL text unchecked.
"""
import re

from .errors import InvalidName

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Columns every readings table has; a source may not declare them again.
RESERVED_COLUMNS = frozenset({"meter_id", "ts", "duration_s", "counter_end"})


def sql_identifier(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a safe lower-case SQL identifier.

    Allowed: a letter, then letters, digits or underscores, 40 characters at
    most (PostgreSQL truncates at 63, and table names get a suffix).

    >>> sql_identifier("natural_gas")
    'natural_gas'
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise InvalidName(
            f"invalid {what} {name!r}: use lower-case letters, digits and '_', "
            "starting with a letter, at most 40 characters")
    return name
