"""/api/v1/briefing and /api/v1/ask: the shift briefing (``enms briefing``) and
an utterance answered by the voice skill exactly as ``enms ask --json`` does.

``ask`` starts one in-process OVOS core with the EnMS skill at the first
question (``engine.cli.chat.Assistant``, imported only then: the voice extra
is needed) and keeps it; questions are answered one at a time. The skill acts
with its own device role and records its changes as ``voice``, so the
endpoint is open only to roles that may do whatever the skill may do.
"""

import threading
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import Field

from .. import briefing
from . import sites
from .auth import Permitted
from .common import Body, EngineJSON, Name, StoreDep

router = APIRouter(tags=["assistant"])


@router.get("/briefing")
def shift_briefing(store: StoreDep, user: Permitted("briefing.read"),
                   shift: Literal[briefing.SHIFTS] = "last",
                   at: Annotated[datetime | None, Query(
                       description="as at this time (site-local unless it has an offset)")] = None,
                   site: Name | None = None,
                   shift_starts: Annotated[str | None, Query(
                       pattern=r"^\d{1,2}:\d{2}(,\d{1,2}:\d{2}){0,11}$",
                       examples=["06:00,14:00,22:00"])] = None):
    """The shift-handover briefing: energy against expected per SEU, open
    alerts, CUSUM alarms and data problems of the last (or current) shift."""
    return EngineJSON(briefing.build(store, shift, at=at, site=sites.briefing_site(user, site),
                                     shift_starts=shift_starts))


class AskIn(Body):
    utterance: str = Field(min_length=1, max_length=500,
                           examples=["train baseline for natural gas Boiler-1 using outdoor "
                                     "temperature for 2024"])
    lang: str = Field("en-us", pattern=r"^[a-z]{2}-[a-z]{2}$",
                      description="a language of the skill's locale")


class Voice:
    """One assistant per language, started at its first question."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.assistants = {}
        self.lock = threading.Lock()

    def ask(self, utterance: str, lang: str) -> dict:
        with self.lock:
            assistant = self.assistants.get(lang)
            if assistant is None:
                try:
                    from ..cli.chat import Assistant
                    assistant = Assistant(lang=lang, database_url=self.database_url)
                except (ImportError, RuntimeError) as exc:
                    raise HTTPException(503, f"the voice assistant is not available: {exc} "
                                        "(pip install 'enms[voice]')") from None
                self.assistants[lang] = assistant
            return assistant.ask(utterance).as_dict()

    def close(self) -> None:
        with self.lock:
            for assistant in self.assistants.values():
                assistant.close()
            self.assistants.clear()


@router.post("/ask")
def ask(body: AskIn, request: Request, user: Permitted("ask")):
    """What the voice assistant answers to one utterance (``enms ask --json``)."""
    return EngineJSON(request.app.state.voice.ask(body.utterance, body.lang))
