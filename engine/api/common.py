"""What every route shares: names as the API accepts them, periods, and replies.

Names reach the engine only after a pattern check here (422 otherwise), and
then the engine checks them against the catalog (404 for one it does not
hold). Catalog names are letters, digits, spaces and ``. - _ / + & #``;
energy sources, measurement columns and drivers are SQL identifiers
(``engine.identifiers``). So ``x; DROP TABLE seus`` or ``outdoor_temp_c)--``
never reach a query, whichever way queries are written.
"""

import json
import math
import shutil
import tempfile
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.background import BackgroundTask

from ..errors import EnmsError
from ..periods import parse_period, period_bounds

NAME_PATTERN = r"^[^\W_][\w .+/&#-]{0,199}$"
IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
PATTERN_WORDS = {
    NAME_PATTERN: "letters, digits, spaces and . - _ / + & #, starting with a letter or "
                  "digit, at most 200 characters",
    IDENTIFIER_PATTERN: "lower-case letters, digits and _, starting with a letter, at most 40 "
                        "characters",
}

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Text = Annotated[str, StringConstraints(max_length=2000)]


def _period_text(text: str) -> str:
    try:
        parse_period(text)
    except EnmsError as exc:
        raise ValueError(str(exc)) from None
    return text


PeriodText = Annotated[str, StringConstraints(max_length=20), AfterValidator(_period_text)]


class Body(BaseModel):
    """A request body: unknown fields are refused, not ignored."""
    model_config = ConfigDict(extra="forbid")


class PeriodBody(Body):
    """A period as text (2024, 2025-Q1, 2025-03) or as two dates."""
    period: PeriodText | None = Field(None, examples=["2024"])
    first: date | None = Field(None, description="first day, with 'last'")
    last: date | None = Field(None, description="last day, with 'first'")

    def bounds(self) -> tuple[date, date]:
        return _bounds(self.period, self.first, self.last)


def _bounds(period, first, last) -> tuple[date, date]:
    try:
        return period_bounds(period, first, last)
    except EnmsError as exc:
        raise HTTPException(422, f"period: {exc}") from None


def period_query(period: Annotated[PeriodText | None, Query(examples=["2025-03"])] = None,
                 first: Annotated[date | None, Query(alias="from")] = None,
                 last: Annotated[date | None, Query(alias="to")] = None) -> tuple[date, date]:
    """?period=2025-03, or ?from=YYYY-MM-DD&to=YYYY-MM-DD."""
    return _bounds(period, first, last)


SeuQuery = Annotated[Name, Query(description="the SEU's equipment, e.g. Boiler-1")]
SourceQuery = Annotated[Identifier, Query(description="the SEU's energy source")]


def _finite(value):
    """JSON-safe: NaN and infinities become null (missing is not a number)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalars
        return _finite(value.item())
    return value


def _default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


class EngineJSON(JSONResponse):
    """The engine's results as the command line's ``--json`` prints them."""

    def render(self, content) -> bytes:
        return json.dumps(_finite(content), default=_default, allow_nan=False,
                          ensure_ascii=False).encode("utf-8")


def get_store(request: Request):
    """The app's database (a dependency)."""
    return request.app.state.store


StoreDep = Annotated[object, Depends(get_store)]


def built_file(build, media_type: str, filename: str | None = None) -> FileResponse:
    """The file ``build(folder)`` writes into a new temporary folder, sent as
    the answer (as a download named ``filename``, else inline); the folder is
    removed once it is sent, or at once if building fails."""
    folder = tempfile.mkdtemp(prefix="enms-api-")
    try:
        path = build(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, media_type=media_type, filename=filename,
                        background=BackgroundTask(shutil.rmtree, folder, True))
