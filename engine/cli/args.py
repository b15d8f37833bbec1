"""Arguments several ``enms`` commands share: dates and periods."""
import argparse
from datetime import date


def parse_date(text: str) -> date:
    """A YYYY-MM-DD argument."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_period(parser, required: bool = True):
    """--period P, or --from D --to D; returns the group for more alternatives."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--period", help="2024, 2025-Q1 or 2025-03")
    group.add_argument("--from", dest="first", type=parse_date, help="first day (with --to)")
    parser.add_argument("--to", dest="last", type=parse_date, help="last day, with --from")
    return group
