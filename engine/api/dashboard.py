"""The web dashboard at /dashboard/: static HTML, CSS and JavaScript modules
shipped in the package (no build step, no CDN: plants run offline). The
page signs in at /api/v1/auth/token and reads everything through the API
with that token, so the API's roles apply unchanged; charts are the API's
PNGs (``/api/v1/charts``), drawn server-side as in the PDF reports. ``/``
leads to it."""
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
ROUTE = "/dashboard"
# The page runs only its own scripts and styles; charts arrive as blob: URLs.
HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
           "object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class _Static(StaticFiles):
    async def get_response(self, path, scope):
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


def mount(app: FastAPI) -> None:
    """Serve the dashboard at ``ROUTE`` and send ``/`` there."""
    app.mount(ROUTE, _Static(directory=STATIC, html=True), name="dashboard")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def home():
        return RedirectResponse(f"{ROUTE}/")
