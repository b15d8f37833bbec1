"""``enms chat`` and ``enms ask``: the OVOS skill as a text conversation.

The same skill, intents and dialogs as on a voice device (one grammar), on
one of two buses:

- by default an in-process OVOS core (ovos-core's skill manager and intent
  service on a FakeBus, through ovoscope's MiniCroft) with only the EnMS
  skill loaded by its entry point;
- with ``--bus ws://host:port`` a running OVOS messagebus (a device, or
  ovos-core as a service), reached with ovos-bus-client's MessageBusClient.

Each line typed is sent as a ``recognizer_loop:utterance`` and what the
assistant says (``speak`` / ``ovos.utterance.speak`` messages) is printed. A
question the skill asks (a clarification) ends the turn; the next line
answers it. When no intent matched, the line of the locale's
``not_understood.dialog`` is printed.

OVOS is imported here only when a conversation starts, so the rest of the
``enms`` command needs none of it.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from engine.errors import EnmsError

SKILL_ID = "skill-enms.openvoiceos"
# Stop, converse (follow-up answers), padatious high and medium confidence,
# then the skill's own key-word fallback for free speech (skill_enms/free_speech.py).
# No low-confidence padatious: an utterance neither understands is "not
# understood", never a guess.
PIPELINE = [
    "ovos-stop-pipeline-plugin-high",
    "ovos-converse-pipeline-plugin",
    "ovos-padatious-pipeline-plugin-high",
    "ovos-padatious-pipeline-plugin-medium",
    "ovos-fallback-pipeline-plugin-medium",
    "ovos-stop-pipeline-plugin-medium",
]
SPEAK = ("speak", "ovos.utterance.speak")
UNMATCHED = ("complete_intent_failure", "ovos.intent.unmatched")
HANDLED = ("ovos.utterance.handled",)
FREE_SPEECH_INTENT = "enms.free_speech.intent"
DEFAULT_LANG = "en-us"
CONNECT_TIMEOUT_S = 5.0
# An upper bound only (the core wakes the caller when ready): the first start
# in a language trains its padatious intents, minutes on a busy 2-core machine.
SLOW_START_NOTICE_S = 3.0
BOOT_TIMEOUT_S = 1200.0


@dataclass
class Turn:
    """One utterance and what came back."""
    utterance: str
    speech: list[str] = field(default_factory=list)
    intent: str | None = None
    question: bool = False          # the skill asked something and waits
    unmatched: bool = False
    not_understood: str = ""        # the locale's line, said when nothing matched
    meta: list[dict] = field(default_factory=list)
    slots: dict = field(default_factory=dict)   # the intent's raw slot values
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(self.speech) if self.speech else (
            self.not_understood if self.unmatched else "")

    def as_dict(self) -> dict:
        enms = next((m for m in reversed(self.meta) if m), {})
        return {"utterance": self.utterance, "intent": enms.get("intent", self.intent),
                "slots": self.slots,
                "question": self.text if self.question else None, "speech": self.text,
                "seu": enms.get("seu"), "energy_source": enms.get("energy_source"),
                "drivers": enms.get("drivers", []), "period": enms.get("period"),
                "result": enms.get("result"), "error": enms.get("error"),
                "seconds": round(self.seconds, 4)}


class Conversation:
    """Turns on an OVOS bus: send an utterance, collect what is said until
    the skill has finished (or asks something, or nothing matched).

    Subclasses provide ``self.bus`` (anything with ``on``/``emit``) and
    ``_send`` and call ``_listen`` once the bus is up.
    """

    def __init__(self, lang: str, timeout: float):
        from ovos_bus_client.message import Message
        self._Message = Message
        self.lang = lang
        self.timeout = timeout
        self.not_understood = not_understood_line(lang)
        self._session = None
        self._turn: Turn | None = None
        self._active = 0                # skill handlers running
        self._handled = False
        self._done = threading.Event()
        self._lock = threading.RLock()

    def _listen(self):
        self.bus.on("message", self._on_message)

    def _ours(self, message) -> bool:
        """A shared bus carries other conversations (the device's own, other
        clients): only messages of this conversation's session count."""
        theirs = (message.context.get("session") or {}).get("session_id")
        ours = (self._session or {}).get("session_id", "default")
        return theirs is None or theirs == ours

    def _on_message(self, raw):
        message = self._Message.deserialize(raw) if isinstance(raw, str) else raw
        kind = message.msg_type
        with self._lock:
            turn = self._turn
            if turn is None or not self._ours(message):
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
            elif kind == FREE_SPEECH_INTENT and turn.intent is None:
                # The skill's fallback understood free speech (skill_enms/free_speech.py).
                turn.intent = message.data.get("intent")
                turn.slots = {k: v for k, v in message.data.items()
                              if k != "intent" and isinstance(v, str) and v}
            elif kind in SPEAK:
                turn.speech.append(message.data.get("utterance", ""))
                turn.meta.append((message.data.get("meta") or {}).get("enms") or {})
                if message.data.get("expect_response"):
                    turn.question = True
                    self._done.set()
                # This conversation is the audio output: printing takes no
                # time, so speaking has ended (get_response waits for it).
                self.bus.emit(message.forward("recognizer_loop:audio_output_end"))
            elif kind in UNMATCHED:
                turn.unmatched = True
                turn.intent = None      # a skill may turn down a match it cannot use
                self._done.set()
            elif kind in HANDLED:
                self._handled = True
                if self._active == 0:
                    self._done.set()

    def ask(self, utterance: str) -> Turn:
        """Send one utterance; return what was said until the turn ended."""
        turn = Turn(utterance, not_understood=self.not_understood)
        context = {"session": self._session} if self._session else {}
        message = self._Message("recognizer_loop:utterance",
                                {"utterances": [utterance], "lang": self.lang}, context)
        with self._lock:
            self._turn = turn
            # Handlers still running (one waiting in get_response for this
            # very answer) keep counting: the turn ends when they complete.
            self._handled = False
            self._done.clear()
        started = time.perf_counter()
        self._send(message)
        finished = self._done.wait(self.timeout)
        turn.seconds = time.perf_counter() - started
        with self._lock:
            self._turn = None
        if not finished:
            turn.speech.append("(no answer within {:.0f} s)".format(self.timeout))
        return turn

    def close(self):
        raise NotImplementedError


class Assistant(Conversation):
    """An in-process OVOS core with only the EnMS skill loaded."""

    def __init__(self, lang: str = DEFAULT_LANG, database_url: str | None = None,
                 skill_id: str = SKILL_ID, timeout: float = 60.0):
        if database_url:
            os.environ["ENMS_DATABASE_URL"] = database_url
        _quiet_logs()
        # OVOS logs to standard output; what the assistant says goes there, so
        # its loggers (created while booting) write to standard error instead.
        with contextlib.redirect_stdout(sys.stderr):
            super().__init__(lang, timeout)
            from ovoscope import MiniCroft
            _only_pipeline_plugins(PIPELINE)
            started = time.perf_counter()
            # Woken when the core is ready, not by polling every 0.1 s as
            # ovoscope's get_minicroft does (half of that is lost on average).
            ready = threading.Event()
            self.croft = MiniCroft([skill_id], default_pipeline=PIPELINE, lang=lang,
                                   ready_hook=ready.set)
            self.croft.start()
            if not ready.wait(BOOT_TIMEOUT_S):
                self.croft.stop()
                raise EnmsError(f"the in-process OVOS core did not get ready in "
                                f"{BOOT_TIMEOUT_S:.0f} s (skill {skill_id})")
            self.boot_seconds = time.perf_counter() - started
        # Everything loaded so far lives as long as the process: collect once
        # and move it out of the collector's sight, or a full collection
        # (60-120 ms, every 60-90 answers) lands inside an answer.
        gc.collect()
        gc.freeze()
        _quiet_logs()
        if skill_id not in self.croft.plugin_skills:
            self.croft.stop()
            raise EnmsError(f"the OVOS skill {skill_id!r} did not load: is the package "
                            "installed with its entry point (pip install -e '.[voice]')?")
        self.bus = self.croft.bus
        self._listen()

    def _send(self, message):
        # FakeBus delivers synchronously: a handler that waits for an answer
        # (get_response) must not block this thread.
        threading.Thread(target=self.bus.emit, args=(message,), daemon=True).start()

    def close(self):
        _quiet_logs()
        try:
            self.croft.stop()
        except Exception:  # noqa: BLE001
            pass


class BusAssistant(Conversation):
    """A running OVOS messagebus (``ws://host:port[/route]``), the skill loaded
    by the ovos-core on the other side."""

    def __init__(self, url: str, lang: str = DEFAULT_LANG, timeout: float = 60.0,
                 skill_id: str = SKILL_ID):
        host, port, route, ssl = parse_bus_url(url)
        _quiet_logs()
        with contextlib.redirect_stdout(sys.stderr):
            super().__init__(lang, timeout)
            from ovos_bus_client import MessageBusClient
            from pyee import EventEmitter
            # A plain emitter calls the handlers in the order the messages
            # arrive (the default one runs them in a thread pool, so a turn's
            # end could be seen before its last words).
            self.bus = MessageBusClient(host=host, port=port, route=route, ssl=ssl,
                                        emitter=EventEmitter())
            self.bus.run_in_thread()
        if not self.bus.connected_event.wait(CONNECT_TIMEOUT_S):
            self.close()
            raise EnmsError(f"no OVOS messagebus answers at {url} "
                            f"(waited {CONNECT_TIMEOUT_S:.0f} s)")
        _quiet_logs()
        self.skill_loaded = self._skill_loaded(skill_id)
        self._listen()

    def _skill_loaded(self, skill_id: str) -> bool | None:
        """Whether the core on the bus has the skill (None: no core answered)."""
        reply = self.bus.wait_for_response(self._Message("skillmanager.list"),
                                           "mycroft.skills.list", timeout=5)
        return None if reply is None else skill_id in (reply.data or {})

    def _send(self, message):
        self.bus.emit(message)

    def close(self):
        try:
            self.bus.close()
        except Exception:  # noqa: BLE001
            pass


def parse_bus_url(url: str) -> tuple[str, int, str, bool]:
    """``ws://host:port[/route]`` -> (host, port, route, ssl); the route is
    OVOS's ``/core`` unless given."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("ws", "wss") or not parts.hostname or port is None:
        raise EnmsError(f"--bus {url!r}: expected ws://host:port (e.g. ws://127.0.0.1:8181)")
    return parts.hostname, port, parts.path or "/core", parts.scheme == "wss"


def locale_languages() -> list[str]:
    """The languages the skill has a locale folder for."""
    from skill_enms.skill import resources_dir
    folder = Path(resources_dir()) / "locale"
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def not_understood_line(lang: str) -> str:
    """The first line of the locale's ``not_understood.dialog``: what the chat
    says when no intent matched (a device plays OVOS's own error sound)."""
    from skill_enms.skill import resources_dir
    folder = Path(resources_dir()) / "locale" / lang
    for path in sorted(folder.rglob("not_understood.dialog")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line and not line.startswith("#")]
        if lines:
            return lines[0]
    raise EnmsError(f"locale/{lang}/not_understood.dialog is missing or empty "
                    f"(languages: {', '.join(locale_languages())})")


def default_lang() -> str:
    """The language of the OVOS configuration (mycroft.conf ``lang``), else en-us."""
    try:
        from ovos_config import Configuration
        return str(Configuration().get("lang") or DEFAULT_LANG).lower()
    except Exception:  # noqa: BLE001 - no OVOS configuration: the default
        return DEFAULT_LANG


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
    import logging
    level = os.environ.get("ENMS_OVOS_LOG_LEVEL", "ERROR").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise EnmsError(f"ENMS_OVOS_LOG_LEVEL={level!r} is not a log level "
                        "(DEBUG, INFO, WARNING, ERROR or CRITICAL)")
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
        _skip_unlogged(LOG, level)
        LOG._enms_quiet = True
    if not getattr(LOG, "_enms_stderr", False):
        create = LOG.create_logger.__func__

        def create_logger(cls, name, tostdout=True):
            # ovos-core sets its configured level (INFO) again while it boots;
            # loggers made after that (deprecation notices) keep the chosen one.
            logger = _to_stderr(create(cls, name, tostdout))
            logger.setLevel(max(logger.level, logging.getLevelName(level)))
            return logger
        LOG.create_logger = classmethod(create_logger)
        LOG._enms_stderr = True


def _skip_unlogged(log, chosen: str) -> None:
    """OVOS's LOG.debug / info / warning find their caller by walking the call stack
    (inspect.stack, 5-20 ms each) before the level is checked; below the
    level set, or the level chosen for the commands (``chosen``: ovos-core
    sets its configured INFO again while it boots), they return at once
    instead. Start-up logs some fifty lines and every utterance a few."""
    import logging

    def number(value) -> int:
        return value if isinstance(value, int) else logging.getLevelName(str(value).upper())

    floor = number(chosen)

    def level() -> int:
        current = number(log.level)
        return max(current, floor) if isinstance(current, int) and isinstance(floor, int) \
            else current

    for name, threshold in (("debug", logging.DEBUG), ("info", logging.INFO),
                            ("warning", logging.WARNING)):
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

def _open(args) -> Conversation:
    _quiet_logs()       # before the first OVOS import logs anything
    lang = (args.lang or default_lang()).lower()
    if lang not in locale_languages():
        raise EnmsError(f"--lang {lang}: the skill has no locale for it "
                        f"(languages: {', '.join(locale_languages())})")
    if args.bus:
        assistant = BusAssistant(args.bus, lang=lang)
        if assistant.skill_loaded is False:
            print(f"enms: warning: the OVOS core at {args.bus} has not loaded {SKILL_ID}",
                  file=sys.stderr)
        return assistant
    return Assistant(lang=lang, database_url=getattr(args, "db", None))


def run_ask(args) -> int:
    """``enms ask "utterance"`` (``-`` reads one utterance per line from stdin)."""
    assistant = _open(args)
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
    started = time.perf_counter()
    # The first in-process start after an install learns the skill's phrases
    # (padatious, 15-20 s a language); say so rather than sit silent.
    notice = threading.Timer(SLOW_START_NOTICE_S, print, args=(
        "Starting the voice assistant; the first start after an install learns "
        "the phrases and takes up to a minute...",), kwargs={"file": sys.stderr, "flush": True})
    notice.daemon = True
    if not args.bus:
        notice.start()
    try:
        assistant = _open(args)
    finally:
        notice.cancel()
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
        p.add_argument("--lang", help="language of the conversation, a folder of the skill's "
                       "locale/ (default: mycroft.conf's lang, else en-us)")
        p.add_argument("--bus", metavar="ws://HOST:PORT",
                       help="a running OVOS messagebus with the skill loaded "
                       "(default: an in-process OVOS core)")
    ask.add_argument("utterance", nargs="+", help="what you would say; '-' reads one per line from stdin")
