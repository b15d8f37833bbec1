"""``enms chat`` and ``enms ask``: the OVOS skill as a text conversation.

The same skill, intents and dialogs as on a voice device (one grammar): an
in-process OVOS core (ovos-core's skill manager and intent service on a
FakeBus, through ovoscope's MiniCroft) loads only the EnMS skill by its
entry point; each line typed is sent as a ``recognizer_loop:utterance`` and
what the assistant says (``speak`` / ``ovos.utterance.speak`` messages) is
printed. A question the skill asks (a clarification) ends the turn; the next
line answers it.

OVOS is imported here only when a conversation starts, so the rest of the
``enms`` command needs none of it.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field

SKILL_ID = "skill-enms.openvoiceos"
# Stop, converse (follow-up answers), padatious high and medium confidence.
# No low-confidence padatious and no fallbacks: an utterance the skill does
# not know is "not understood", never a guess.
PIPELINE = [
    "ovos-stop-pipeline-plugin-high",
    "ovos-converse-pipeline-plugin",
    "ovos-padatious-pipeline-plugin-high",
    "ovos-padatious-pipeline-plugin-medium",
    "ovos-stop-pipeline-plugin-medium",
]
SPEAK = ("speak", "ovos.utterance.speak")
UNMATCHED = ("complete_intent_failure", "ovos.intent.unmatched")
HANDLED = ("ovos.utterance.handled",)
NOT_UNDERSTOOD = "Sorry, I did not understand that. Say help to hear what I can do."


@dataclass
class Turn:
    """One utterance and what came back."""
    utterance: str
    speech: list[str] = field(default_factory=list)
    intent: str | None = None
    question: bool = False          # the skill asked something and waits
    unmatched: bool = False
    meta: list[dict] = field(default_factory=list)
    slots: dict = field(default_factory=dict)   # the intent's raw slot values
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(self.speech) if self.speech else (NOT_UNDERSTOOD if self.unmatched else "")

    def as_dict(self) -> dict:
        enms = next((m for m in reversed(self.meta) if m), {})
        return {"utterance": self.utterance, "intent": enms.get("intent", self.intent),
                "slots": self.slots,
                "question": self.text if self.question else None, "speech": self.text,
                "seu": enms.get("seu"), "energy_source": enms.get("energy_source"),
                "drivers": enms.get("drivers", []), "period": enms.get("period"),
                "result": enms.get("result"), "error": enms.get("error"),
                "seconds": round(self.seconds, 4)}


class Assistant:
    """An in-process OVOS core with only the EnMS skill loaded."""

    def __init__(self, lang: str = "en-us", database_url: str | None = None,
                 skill_id: str = SKILL_ID, timeout: float = 60.0):
        if database_url:
            os.environ["ENMS_DATABASE_URL"] = database_url
        _quiet_logs()
        # OVOS logs to standard output; what the assistant says goes there, so
        # its loggers (created while booting) write to standard error instead.
        with contextlib.redirect_stdout(sys.stderr):
            from ovos_bus_client.message import Message
            from ovoscope import get_minicroft
            self._Message = Message
            self.lang = lang
            self.timeout = timeout
            _only_pipeline_plugins(PIPELINE)
            started = time.perf_counter()
            self.croft = get_minicroft([skill_id], default_pipeline=PIPELINE, lang=lang)
            self.boot_seconds = time.perf_counter() - started
        _quiet_logs()
        if skill_id not in self.croft.plugin_skills:
            self.croft.stop()
            raise RuntimeError(f"the OVOS skill {skill_id!r} did not load: is the package "
                               "installed with its entry point (pip install -e '.[voice]')?")
        self.bus = self.croft.bus
        self._session = None
        self._turn: Turn | None = None
        self._active = 0                # skill handlers running
        self._handled = False
        self._done = threading.Event()
        self._lock = threading.RLock()
        self.bus.on("message", self._on_message)

    # --- the bus ------------------------------------------------------------------------

    def _on_message(self, raw):
        message = self._Message.deserialize(raw) if isinstance(raw, str) else raw
        kind = message.msg_type
        with self._lock:
            turn = self._turn
            if turn is None:
                return
            if "session" in message.context and kind in SPEAK + HANDLED:
                self._session = message.context["session"]
            if kind == "mycroft.skill.handler.start":
                self._active += 1
            elif kind == "mycroft.skill.handler.complete":
                self._active = max(0, self._active - 1)
                if self._handled and self._active == 0:
                    self._done.set()
            elif kind.endswith(".intent") and ":" in kind and turn.intent is None:
                turn.intent = kind.split(":", 1)[1].rsplit(".", 1)[0]
                turn.slots = {k: v for k, v in message.data.items()
                              if k not in ("utterance", "lang", "intent_type")
                              and isinstance(v, str)}
            elif kind in SPEAK:
                turn.speech.append(message.data.get("utterance", ""))
                turn.meta.append((message.data.get("meta") or {}).get("enms") or {})
                if message.data.get("expect_response"):
                    turn.question = True
                    self._done.set()
                # A device's audio service says when it has finished speaking;
                # here speaking takes no time.
                self.bus.emit(message.forward("recognizer_loop:audio_output_end"))
            elif kind in UNMATCHED:
                turn.unmatched = True
                self._done.set()
            elif kind in HANDLED:
                self._handled = True
                if self._active == 0:
                    self._done.set()

    def ask(self, utterance: str) -> Turn:
        """Send one utterance; return what was said until the turn ended."""
        turn = Turn(utterance)
        context = {"session": self._session} if self._session else {}
        message = self._Message("recognizer_loop:utterance",
                                {"utterances": [utterance], "lang": self.lang}, context)
        with self._lock:
            self._turn = turn
            self._handled = False
            self._done.clear()
        started = time.perf_counter()
        # FakeBus delivers synchronously: a handler that waits for an answer
        # (get_response) must not block this thread.
        threading.Thread(target=self.bus.emit, args=(message,), daemon=True).start()
        finished = self._done.wait(self.timeout)
        turn.seconds = time.perf_counter() - started
        with self._lock:
            self._turn = None if not turn.question else turn
        if not finished:
            turn.speech.append("(no answer within {:.0f} s)".format(self.timeout))
        if turn.question:
            # Keep collecting into a fresh turn only when the next line arrives.
            with self._lock:
                self._turn = None
        return turn

    def close(self):
        _quiet_logs()
        try:
            self.croft.stop()
        except Exception:  # noqa: BLE001
            pass


def _only_pipeline_plugins(pipeline: list[str]) -> None:
    """Load only the intent pipeline plugins the pipeline uses.

    ovos-core loads every installed pipeline plugin, and each one takes every
    intent registration: padacioso (installed with ovos-workshop, not in this
    pipeline) compiled some eight thousand regular expressions from the
    skill's intent lines, most of the start-up time.
    """
    from ovos_plugin_manager.pipeline import OVOSPipelineFactory
    if getattr(OVOSPipelineFactory, "_enms_only", None) is not None:
        return
    wanted = set()
    for stage in pipeline:
        for suffix in ("-high", "-medium", "-low"):
            if stage.endswith(suffix):
                stage = stage[:-len(suffix)]
                break
        wanted.add(stage)
    installed = OVOSPipelineFactory.get_installed_pipeline_ids

    def only_wanted():
        return [p for p in installed() if p in wanted]
    OVOSPipelineFactory.get_installed_pipeline_ids = staticmethod(only_wanted)
    OVOSPipelineFactory._enms_only = wanted


def _quiet_logs():
    """OVOS logs at INFO to standard output; the commands show errors only,
    on standard error (ENMS_OVOS_LOG_LEVEL=INFO for more)."""
    level = os.environ.get("ENMS_OVOS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OVOS_DEFAULT_LOG_LEVEL", level)
    try:
        from ovos_utils.log import LOG
    except Exception:  # noqa: BLE001
        return
    LOG.set_level(level)
    # OVOS loggers write to standard output, where the answers go: move them
    # (and every one created later) to standard error.
    for logger in list(LOG._loggers.values()):
        _to_stderr(logger)
    if not getattr(LOG, "_enms_quiet", False):
        _skip_unlogged(LOG)
        LOG._enms_quiet = True
    if not getattr(LOG, "_enms_stderr", False):
        create = LOG.create_logger.__func__

        def create_logger(cls, name, tostdout=True):
            return _to_stderr(create(cls, name, tostdout))
        LOG.create_logger = classmethod(create_logger)
        LOG._enms_stderr = True


def _skip_unlogged(log) -> None:
    """OVOS's LOG.debug / LOG.info find their caller by walking the call stack
    (inspect.stack, 5-20 ms each) before the level is checked; below the
    level set they return at once instead. Start-up logs some fifty lines and
    every utterance a few."""
    import logging

    def level() -> int:
        value = log.level
        return value if isinstance(value, int) else logging.getLevelName(str(value).upper())

    for name, threshold in (("debug", logging.DEBUG), ("info", logging.INFO)):
        original = getattr(log, name).__func__

        def method(cls, *args, _original=original, _threshold=threshold, **kwargs):
            current = level()
            if isinstance(current, int) and current > _threshold:
                return None
            return _original(cls, *args, **kwargs)
        setattr(log, name, classmethod(method))


def _to_stderr(logger):
    import logging
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and \
                getattr(handler, "stream", None) is sys.__stdout__:
            handler.setStream(sys.stderr)
    return logger


# --- the commands ----------------------------------------------------------------------------

def _database(args) -> str | None:
    return getattr(args, "db", None)


def run_ask(args) -> int:
    """``enms ask "utterance"`` (``-`` reads one utterance per line from stdin)."""
    assistant = Assistant(lang=args.lang, database_url=_database(args))
    try:
        lines = ([line.strip() for line in sys.stdin if line.strip()]
                 if args.utterance == ["-"] else [" ".join(args.utterance)])
        for line in lines:
            turn = assistant.ask(line)
            if args.json:
                print(json.dumps(turn.as_dict(), default=str), flush=True)
            else:
                print(turn.text, flush=True)
    finally:
        assistant.close()
    return 0


def run_chat(args) -> int:
    """``enms chat``: a terminal conversation; empty line, 'quit' or Ctrl-D ends it."""
    if getattr(args, "bus", None):
        print("enms chat: --bus (a running OVOS messagebus) is not built yet; "
              "the in-process core is used", file=sys.stderr)
    started = time.perf_counter()
    assistant = Assistant(lang=args.lang, database_url=_database(args))
    print(f"EnMS voice assistant ready in {time.perf_counter() - started:.1f} s; "
          "say 'help', or 'quit' to leave.", flush=True)
    try:
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                break
            if not line or line.lower() in ("quit", "exit", "bye"):
                break
            turn = assistant.ask(line)
            for text in turn.speech or [turn.text]:
                print(f"enms> {text}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        assistant.close()
    return 0


def add_arguments(ask, chat) -> None:
    """The options of ``enms ask`` and ``enms chat`` (called by engine/cli/main.py)."""
    for p in (ask, chat):
        p.add_argument("--lang", default="en-us", help="language of the conversation (default en-us)")
    ask.add_argument("utterance", nargs="+", help="what you would say; '-' reads one per line from stdin")
    chat.add_argument("--bus", help="ws://host:port of a running OVOS messagebus (not built yet)")
