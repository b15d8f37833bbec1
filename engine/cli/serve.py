"""``enms serve``: the HTTP API (engine/api, docs/api.md) on uvicorn.

    enms serve                          # http://127.0.0.1:8000/api/v1/docs
    enms serve --host 0.0.0.0 --port 8080

Listens on the loopback address unless told otherwise: put a TLS-terminating
proxy in front before opening it to a network (docs/deployment.md).
"""
import sys

from .. import users
from ..errors import EnmsError


def register(sub, common) -> None:
    """Add ``serve`` to the ``enms`` subcommands."""
    p = sub.add_parser("serve", parents=[common], help="run the HTTP API (uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=cmd_serve)


def cmd_serve(store, args):
    try:
        import uvicorn

        from ..api import create_app
    except ImportError as exc:
        raise EnmsError(f"the HTTP API needs its extra: pip install 'enms[api]' ({exc})") from None
    try:
        app = create_app(store)
    except ValueError as exc:  # a bad ENMS_JWT_SECRET or ENMS_JWT_TTL_S
        raise EnmsError(str(exc)) from None
    if not users.has_admin(store):
        print("enms serve: no admin user yet, so nobody can manage users over HTTP: "
              "enms user add NAME --role admin", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
