"""The HTTP API (an interface, like engine/cli): ``create_app(store)`` builds
the FastAPI application, with the web dashboard at /dashboard/; ``enms serve``
runs it on uvicorn. docs/api.md, docs/user-guide.md section 17."""
from .app import create_app

__all__ = ["create_app"]
