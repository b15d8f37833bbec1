"""``enms catalog alias``: other names of catalog entries, per language.

    enms catalog alias add equipment Boiler-1 "Kessel eins" --lang de-de
    enms catalog alias add source natural_gas gas
    enms catalog alias list [--kind equipment] [--name Boiler-1] [--lang de-de] [--json]
    enms catalog alias remove equipment Boiler-1 "Kessel eins" --lang de-de

The voice skill and ``enms ask`` match spoken names against the catalog's
names and the aliases of the utterance's language (``engine.names``).
"""
from .. import catalog
from . import output

KINDS = tuple(catalog.ALIAS_KINDS)


def register(cat_sub, common) -> None:
    """Add ``alias`` to the ``enms catalog`` actions."""
    alias = cat_sub.add_parser("alias", parents=[common],
                               help="other names of an entry, per language (spoken names)")
    alias_sub = alias.add_subparsers(dest="alias_action", required=True, metavar="ACTION")
    for action, helptext in (("add", "add an alias"), ("remove", "remove an alias")):
        p = alias_sub.add_parser(action, parents=[common], help=helptext)
        p.add_argument("kind", choices=KINDS)
        p.add_argument("name", help="the entry's catalog name, e.g. Boiler-1")
        p.add_argument("alias", help="the other name, e.g. 'Kessel eins'")
        p.add_argument("--lang", default="en-us", help="language of the alias (default en-us)")
        p.set_defaults(func=cmd_alias_add if action == "add" else cmd_alias_remove)
    p = alias_sub.add_parser("list", parents=[common], help="list aliases")
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--name", help="one entry's aliases (with --kind)")
    p.add_argument("--lang", help="one language's aliases")
    p.set_defaults(func=cmd_alias_list)


def cmd_alias_add(store, args):
    return catalog.add_alias(store, args.kind, args.name, args.alias, args.lang)


def cmd_alias_remove(store, args):
    return catalog.remove_alias(store, args.kind, args.name, args.alias, args.lang)


def cmd_alias_list(store, args):
    rows = catalog.list_aliases(store, args.kind, args.name, args.lang)
    if args.json:
        return rows
    output.print_rows(rows, title="aliases")
