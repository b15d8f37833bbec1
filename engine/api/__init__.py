"""The HTTP API (an interface, like engine/cli): ``create_app(store)`` builds
the FastAPI application; ``enms serve`` runs it on uvicorn. docs/api.md."""
from .app import create_app

__all__ = ["create_app"]
