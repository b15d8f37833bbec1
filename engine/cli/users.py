"""``enms user``: users of the HTTP API, their roles and API keys.

    enms user add admin --role admin                 # asks for the password twice
    ENMS_USER_PASSWORD=... enms user add ops --role plant_manager --site "Demo Plant"
    printf '%s\\n' "$PW" | enms user add e.eng --role energy_engineer --password-stdin
    enms user add speaker-1 --role plant_manager --device --label "hall speaker"
    enms user key speaker-1 --label "spare speaker"   # a new API key, shown once
    enms user revoke-key 3f9a1c2b7d4e
    enms user list
    enms user role e.eng plant_manager
    enms user disable e.eng

There is no default user and no default password: the first admin is made
with ``enms user add NAME --role admin`` (docs/api.md, "First start").
Changes are recorded in the audit trail as ``cli:<login name>``.
"""
import getpass
import os
import sys

from .. import audit, permissions, users
from ..errors import EnmsError
from . import output


def register(sub, common) -> None:
    """Add ``user`` to the ``enms`` subcommands."""
    p = sub.add_parser("user", parents=[common], help="users of the HTTP API, roles, API keys")
    actions = p.add_subparsers(dest="user_action", required=True, metavar="ACTION")

    add = actions.add_parser("add", parents=[common], help="add a person or a device")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=permissions.ROLES)
    add.add_argument("--site", help="limit the user to this site (default: every site)")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    how.add_argument("--device", action="store_true",
                     help="a device: no password; an API key is made and shown once")
    add.add_argument("--label", help="with --device: what the key is for")
    add.set_defaults(func=cmd_add)

    lst = actions.add_parser("list", parents=[common], help="every user")
    lst.set_defaults(func=cmd_list)

    off = actions.add_parser("disable", parents=[common],
                             help="disable a user (its tokens and keys stop working)")
    off.add_argument("name")
    off.set_defaults(func=lambda store, a: users.disable_user(
        store, a.name, actor=audit.default_actor()))

    role = actions.add_parser("role", parents=[common], help="give a user another role")
    role.add_argument("name")
    role.add_argument("role", choices=permissions.ROLES)
    role.set_defaults(func=lambda store, a: users.set_role(
        store, a.name, a.role, actor=audit.default_actor()))

    key = actions.add_parser("key", parents=[common], help="a new API key, shown once")
    key.add_argument("name")
    key.add_argument("--label", required=True, help="what device uses it")
    key.set_defaults(func=cmd_key)

    revoke = actions.add_parser("revoke-key", parents=[common], help="revoke an API key")
    revoke.add_argument("prefix", help="the key's prefix (enms user list)")
    revoke.set_defaults(func=lambda store, a: users.revoke_api_key(
        store, a.prefix, actor=audit.default_actor()))


def _password(args) -> str:
    """From ENMS_USER_PASSWORD, standard input, or asked twice at a terminal."""
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise EnmsError("--password-stdin: standard input held no password")
        return line
    if os.environ.get("ENMS_USER_PASSWORD"):
        return os.environ["ENMS_USER_PASSWORD"]
    if not sys.stdin.isatty():
        raise EnmsError("no password: set ENMS_USER_PASSWORD, use --password-stdin, or run "
                        "at a terminal to be asked")
    first = getpass.getpass(f"password for {args.name}: ")
    if first != getpass.getpass("again: "):
        raise EnmsError("the two passwords differ; nothing was changed")
    return first


def _show_key(made: dict) -> None:
    print(f"API key for {made['user']} ({made['label']}), shown only now:", file=sys.stderr)
    print(made["key"])


def cmd_add(store, args):
    actor = audit.default_actor()
    password = None if args.device else _password(args)
    user = users.create_user(store, args.name, args.role, password=password, site=args.site,
                             actor=actor)
    if not args.device:
        return user
    made = users.create_api_key(store, args.name, args.label or f"device {args.name}",
                                actor=actor)
    if args.json:
        return {**user, "api_key": made}
    _show_key(made)
    return 0


def cmd_key(store, args):
    made = users.create_api_key(store, args.name, args.label, actor=audit.default_actor())
    if args.json:
        return made
    _show_key(made)
    return 0


def cmd_list(store, args):
    found = users.list_users(store)
    if args.json:
        return found
    if not found:
        output.console.print("no users yet: enms user add NAME --role admin")
        return 0
    output.print_rows([{"user": u["name"], "role": u["role"], "site": u["site"] or "all",
                        "active": "yes" if u["active"] else f"disabled {u['disabled_at']:%Y-%m-%d}",
                        "signs in by": "password" if u["has_password"] else "API key",
                        "API keys": ", ".join(f"{k['prefix']} ({k['label']})"
                                              for k in u["api_keys"]) or "-"}
                       for u in found])
    return 0
