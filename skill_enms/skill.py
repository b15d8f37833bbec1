"""The EnMS OVOS skill: utterance -> intent -> names resolved -> engine call -> speech.

Handlers stay thin: they find the spoken names in the slots (``engine.names``
against the catalog), call the engine's public functions and speak the result
with the locale's dialogs, numbers said in words (num2words). When a name is
unclear the skill asks (get_response); it never guesses.

Intent lines never end in an ``{entity}`` (see docs/voice.md): where a period
ends a sentence the line ends in ``:0`` words, and the period is read from the
whole utterance (``skill_enms.periods``).

This module holds the set-up, the shared helpers (names, periods, numbers and
dates in words, roles) and the baseline intents; ``skill_enms.monitoring``
the CUSUM trend, data quality and the briefing; ``skill_enms.accounts``
savings and alerts (their engine modules imported only when asked for).
"""
from __future__ import annotations

import calendar
import json
import re
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from ovos_utils.process_utils import RuntimeRequirements
from ovos_workshop.decorators import intent_handler
from ovos_workshop.skills.fallback import FallbackSkill

from engine import names as nm
from skill_enms import periods as sp
from skill_enms import roles
from skill_enms.accounts import AccountsMixin
from skill_enms.announcements import AnnouncementsMixin
from skill_enms.free_speech import FREE_SPEECH, FreeSpeechMixin
from skill_enms.common import pinned_core_lang, pinned_lang, pinned_language, \
    sentence as _sentence
from skill_enms.monitoring import MonitoringMixin

SKILL_ID = "skill-enms.openvoiceos"
CATALOG_TTL_S = 30.0
REFERENCE_TTL_S = 600.0
SIGNIFICANT_DIGITS = 3
# Slots that hold an equipment's name, and how well a name must fit to be
# taken from an utterance whose sentence had no slot for it (said in full).
NAME_SLOTS = ("seu", "target")
NAMED_IN_FULL = 95.0


def resources_dir() -> str:
    """The folder holding ``locale/``: inside the installed package, or the
    repository root when running from a source tree (editable install)."""
    here = Path(__file__).resolve().parent
    if (here / "locale").is_dir():
        return str(here)
    return str(here.parent)


class EnmsSkill(AccountsMixin, MonitoringMixin, AnnouncementsMixin, FreeSpeechMixin,
                FallbackSkill):
    """Voice interface of the energy management system (ISO 50001)."""

    # The database is local or on the plant network and opened on first use:
    # ovos-core must not hold the skill back until the internet is up (its
    # default), or an offline plant device never loads it.
    runtime_requirements = RuntimeRequirements(
        internet_before_load=False, network_before_load=False,
        requires_internet=False, requires_network=False,
        no_internet_fallback=True, no_network_fallback=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("resources_dir", resources_dir())
        self._store = None
        self._store_url = None
        self._names_cache = (0.0, None)
        self._reference_cache = (0.0, None)
        self._detail: dict[str, str] = {}
        self._value_cache: dict[tuple[str, str], dict] = {}
        self._intent_word_cache: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()
        self._announced = None      # (database url, newest alert handled): announcements.py
        self._announce_lock = threading.Lock()
        self._understood = None     # (utterance, its intent and slots): free_speech.py
        try:
            from ovos_config import Configuration
            from ovos_utils.lang import standardize_lang_tag
            core = standardize_lang_tag(Configuration().get("lang", "en-US"))
        except Exception:  # noqa: BLE001 - OVOS finds it itself then
            core = None
        with pinned_core_lang(core):
            super().__init__(*args, **kwargs)

    # --- set-up ----------------------------------------------------------------------

    def load_vocab_files(self, root_directory=None):
        """No adapt keywords: this skill has no adapt intents, and its .voc files
        are word lists read with voc_list / voc_match (registering each word as
        a keyword cost about half a second at start-up)."""
        return None

    def initialize(self):
        self.settings.merge({"database_url": "", "aliases": {}, "reference_date": "",
                             "trained_by": "voice", "role": roles.DEFAULT_ROLE,
                             "shift_times": "06:00,14:00,22:00", "site": "", "lang": "",
                             "briefing_at_shift_change": True, "announce_alerts": False,
                             "announce_min_severity": "critical", "announce_interval_s": 60,
                             "announce_quiet_hours": ""}, new_only=True)
        self.settings_change_callback = self._settings_changed
        self._schedule_briefing()      # monitoring.py: the briefing at each shift change
        self._schedule_announcements()  # announcements.py: new alerts, if opted in
        # ovos-core's converse service pings every active skill and waits up to
        # 0.5 s for an answer; a plain OVOSSkill never answers, which made every
        # utterance after the first 0.5 s slower. This skill has no free-form
        # converse (follow-ups go through get_response), so it says so at once.
        self.add_event(f"{self.skill_id}.converse.ping", self._converse_pong,
                       speak_errors=False)

    def _converse_pong(self, message):
        self.bus.emit(message.reply("skill.converse.pong",
                                    data={"skill_id": self.skill_id, "can_handle": False},
                                    context={"skill_id": self.skill_id}))

    def _settings_changed(self):
        with self._lock:
            self._store = None
            self._names_cache = (0.0, None)
            self._reference_cache = (0.0, None)
        self._schedule_briefing()
        self._schedule_announcements()

    @property
    def store(self):
        """The engine's store: the skill setting database_url, else
        ENMS_DATABASE_URL, else the default SQLite file."""
        from engine import Store
        url = self.settings.get("database_url") or None
        with self._lock:
            if self._store is None or self._store_url != url:
                self._store = Store(url)
                self._store_url = url
            return self._store

    def shutdown(self):
        if self._store is not None:
            self._store.dispose()
        super().shutdown()

    # --- locale helpers --------------------------------------------------------------------

    @property
    def lang(self) -> str:
        """The utterance's language: pinned while a handler runs (common.pinned_lang),
        else OVOS's own lookup."""
        return pinned_language() or super().lang

    @property
    def _num_lang(self) -> str:
        return nm._num2words_lang(self.lang)

    def _values(self, name: str) -> dict:
        """A named-value file of the locale (read once per language)."""
        key = (self.lang, name)
        if key not in self._value_cache:
            try:
                self._value_cache[key] = dict(self.resources.load_named_value_file(name) or {})
            except Exception:  # noqa: BLE001 - a missing file is an empty table
                self._value_cache[key] = {}
        return self._value_cache[key]

    def _words(self, name: str) -> list[str]:
        return [w.lower() for w in self.voc_list(name)]

    def _render(self, name: str, data: dict | None = None) -> str:
        return self.dialog_renderer.render(name, data or {}).strip()

    def _join(self, items: list[str], word: str = "and") -> str:
        items = [i for i in items if i]
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + f" {self._render(word)} " + items[-1]

    def _number(self, value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
        """A number in words, rounded to ``digits`` significant digits."""
        from num2words import num2words
        if value is None or value != value:
            return self._render("unknown.value")
        if value == 0:
            return num2words(0, lang=self._num_lang)
        rounded = float(f"{value:.{digits}g}")
        if rounded == int(rounded):
            rounded = int(rounded)
        try:
            return num2words(rounded, lang=self._num_lang)
        except NotImplementedError:
            return num2words(rounded, lang="en")

    def _decimal(self, value: float, places: int) -> str:
        """A number in words with at most ``places`` decimals ('nine point eight')."""
        from num2words import num2words
        rounded = round(float(value), places)
        if rounded == int(rounded):
            rounded = int(rounded)
        return num2words(rounded, lang=self._num_lang)

    def _pct(self, value: float) -> str:
        value = abs(value)
        return self._decimal(value, 1 if value < 10 else 0)

    def _r2(self, value: float) -> str:
        return self._decimal(value, 2)

    def _unit(self, unit: str) -> str:
        units = self._values("units")
        return units.get(unit, unit)

    def _rate_unit(self, unit: str, interval: str) -> str:
        per = (self._words("per") or ["per"])[0]
        return f"{self._unit(unit)} {per} {self._unit(interval)}"

    def _say_name(self, canonical: str) -> str:
        """How a catalog name is said: 'natural_gas' -> 'natural gas'."""
        spoken = self._values("spoken_names")
        return spoken.get(canonical, canonical.replace("_", " "))

    def _say_seu(self, equipment: str, source: str) -> str:
        return f"{equipment} {self._say_name(source)}"

    def _say_period(self, first: date, last: date) -> str:
        months = self._values("month_names")
        if first.month == 1 and first.day == 1 and last == date(first.year, 12, 31):
            return self._render("period.year", {"year": first.year})
        if first.day == 1 and (last.year, last.month) == (first.year, first.month) \
                and last.day == calendar.monthrange(first.year, first.month)[1]:
            return self._render("period.month", {"month": months.get(str(first.month), first.month),
                                                 "year": first.year})
        if first.day == 1 and first.month in (1, 4, 7, 10) and (last.month - first.month) == 2:
            q = (first.month - 1) // 3 + 1
            return self._render("period.quarter", {
                "ordinal": self._values("ordinals").get(str(q), q), "year": first.year})
        if first.weekday() == 0 and last == first + timedelta(days=6):
            return self._render("period.week", {"date": self._say_date(first, year=True)})
        return self._say_span(first, last)

    def _say_month(self, day: date) -> str:
        months = self._values("month_names")
        return self._render("period.month", {"month": months.get(str(day.month), day.month),
                                             "year": day.year})

    def _say_date(self, day: date, year: bool = False) -> str:
        """'July twenty-first' (with year: 'July twenty-first, 2025')."""
        from num2words import num2words
        months = self._values("month_names")
        try:
            ordinal = num2words(day.day, to="ordinal", lang=self._num_lang)
        except NotImplementedError:
            ordinal = str(day.day)
        return self._render("date.year" if year else "date", {
            "month": months.get(str(day.month), day.month), "day": ordinal, "year": day.year})

    def _say_span(self, first: date, last: date) -> str:
        """Whole months as months ('January to October 2025'), else days."""
        if first == last:
            return self._say_date(first, year=True)
        month_end = last.day == calendar.monthrange(last.year, last.month)[1]
        if first.day == 1 and month_end:
            months = self._values("month_names")
            if (first.year, first.month) == (last.year, last.month):
                return self._say_month(first)
            if first.year == last.year:
                return self._render("span", {"first": months.get(str(first.month), first.month),
                                             "last": self._say_month(last)})
            return self._render("span", {"first": self._say_month(first),
                                         "last": self._say_month(last)})
        return self._render("span", {"first": self._say_date(first, year=first.year != last.year),
                                     "last": self._say_date(last, year=True)})

    def _say_when(self, period) -> str:
        """The period with its preposition: 'in October 2025', 'from July first to
        July fifth, 2025', 'in the seven days to October thirty-first, 2025'."""
        if period.kind == "recent":
            return self._render("when.recent", {
                "count": self._number((period.last - period.first).days + 1),
                "last": self._say_date(period.last, year=True)})
        if period.first == period.last:
            return self._render("when.day", {"day": self._say_date(period.first, year=True)})
        if self._named_period(period.first, period.last):
            return self._render("when.period", {"period": self._say_period(period.first,
                                                                             period.last)})
        return self._render("when.range", {
            "first": self._say_date(period.first, year=period.first.year != period.last.year),
            "last": self._say_date(period.last, year=True)})

    @staticmethod
    def _named_period(first: date, last: date) -> bool:
        """A whole year, quarter, month or week (Monday to Sunday)."""
        if first.weekday() == 0 and last == first + timedelta(days=6):
            return True
        month_end = last.day == calendar.monthrange(last.year, last.month)[1]
        if first.day != 1 or not month_end or first.year != last.year:
            return False
        months = last.month - first.month + 1
        return months == 1 or months == 12 or (months == 3 and first.month in (1, 4, 7, 10))

    # --- catalog and names -----------------------------------------------------------------

    def _catalog(self) -> nm.CatalogNames:
        stamp, cached = self._names_cache
        if cached is None or time.monotonic() - stamp > CATALOG_TTL_S:
            cached = nm.catalog_names(self.store)
            self._names_cache = (time.monotonic(), cached)
        return cached

    def _aliases(self) -> dict[str, list[str]]:
        """{canonical: [spoken aliases]} from the catalog (the utterance's
        language), the locale and the skill settings."""
        out: dict[str, list[str]] = {name: list(spoken) for name, spoken in
                                     self._catalog().aliases_for(self.lang).items()}
        table = dict(self._values("aliases"))
        table.update(self.settings.get("aliases") or {})
        for spoken, canonical in table.items():
            out.setdefault(canonical.strip(), []).append(spoken.strip())
        return out

    def _kw(self) -> dict:
        return {"lang": self._num_lang, "articles": self._words("articles") or nm.ARTICLES}

    def _reference_day(self) -> date:
        """Relative periods count from the newest day with meter data, or today
        if that is earlier (skill setting reference_date overrides)."""
        if self.settings.get("reference_date"):
            return date.fromisoformat(self.settings["reference_date"])
        stamp, cached = self._reference_cache
        if cached is None or time.monotonic() - stamp > REFERENCE_TTL_S:
            from engine import queries
            today = date.today()
            try:
                last = queries.last_day(self.store)
            except Exception:  # noqa: BLE001 - an empty or unreachable database
                last = None
            cached = min(today, last) if last else today
            self._reference_cache = (time.monotonic(), cached)
        return cached

    def _intent_words(self, intent: str) -> set[str]:
        """The fixed words of an intent file (not slots), to tell them from names."""
        key = (self.lang, intent)
        if key not in self._intent_word_cache:
            self._intent_word_cache[key] = self._read_intent_words(intent)
        return self._intent_word_cache[key]

    def _read_intent_words(self, intent: str) -> set[str]:
        path = self.find_resource(f"{intent}.intent", "intents")
        words: set[str] = set()
        if path:
            text = Path(path).read_text(encoding="utf-8")
            text = re.sub(r"\{[^}]*\}|:0", " ", text)
            words = set(re.findall(r"[^\W\d_]+", text.lower()))
        return words

    def _slot_text(self, message, slot: str, intent: str, others=()) -> str:
        """A slot's text; if it is the last slot, the words after it that are
        neither the intent's own words nor a period join it ('boiler' + 'one')."""
        value = (message.data.get(slot) or "").strip()
        utterance = message.data.get("utterance") or ""
        if message.data.get(FREE_SPEECH):
            return value
        if not value:
            # A sample sentence without the slot ("savings :0 :0") can still
            # hold a name: one said in full is taken ("savings compressor
            # one"), a partial word is not ("the main alerts").
            return self._named_equipment(utterance) if slot in NAME_SLOTS else ""
        low = utterance.lower()
        pos = low.find(value.lower())
        if pos < 0:
            return value
        later = [message.data.get(o) for o in others if message.data.get(o)]
        if any(low.find(v.lower(), pos + len(value)) >= 0 for v in later):
            return value
        tail = utterance[pos + len(value):]
        _, tail = self._split_period(tail)
        fixed = self._intent_words(intent) | set(self._words("prepositions"))
        extra = [w for w in tail.split() if w.lower() not in fixed]
        value = " ".join([value] + extra) if extra else value
        # "the plant", "the whole factory", "das Werk": everything, no one name.
        whole = set(self._words("whole_plant")) | set(self._words("articles"))
        return "" if slot == "target" and all(w.lower() in whole for w in value.split()) \
            else value

    def _equipment_candidates(self) -> dict[str, list[str]]:
        """{equipment with an SEU: its aliases}, for finding names in free text."""
        aliases = self._aliases()
        return {e: aliases.get(e, []) for e in sorted({e for e, _ in self._catalog().seus})}

    def _named_equipment(self, utterance: str) -> str:
        span = nm.find_span(utterance, self._equipment_candidates(), threshold=NAMED_IN_FULL,
                            **self._kw())
        return span[0] if span else ""

    def _split_period(self, text: str):
        return sp.parse(text, self._values("periods"), self._reference_day(),
                        lang=self._num_lang, articles=self._words("articles"),
                        prepositions=self._words("prepositions"))

    def _meta(self, intent: str, **fields) -> dict:
        return {"enms": json.loads(json.dumps({"intent": intent, **fields}, default=str))}

    def _say(self, message, text: str, intent: str, detail: str | None = None,
             expect_response: bool = False, **meta):
        sid = self._session_id(message)
        if detail is not None:
            self._detail[sid] = _sentence(detail)
        self.speak(_sentence(text), expect_response=expect_response,
                   meta=self._meta(intent, **meta))

    @staticmethod
    def _session_id(message) -> str:
        from ovos_bus_client.session import SessionManager
        try:
            return SessionManager.get(message).session_id
        except Exception:  # noqa: BLE001
            return "default"

    def _known_list(self, items: list[str], limit: int = 3) -> str:
        if len(items) <= limit:
            return self._join(items)
        return self._render("others", {"names": ", ".join(items[:limit])})

    def _settle_name(self, message, result, candidates: dict, intent: str, text: str,
                     known_default: list[str]) -> str | None:
        """The catalog name a resolution settled on: asks when two are close,
        says so and returns None when nothing matches (never guesses)."""
        if isinstance(result, nm.Ambiguous):
            options = list(result.candidates)
            return self._ask_choice(message, options, {o: candidates[o] for o in options},
                                    [self._say_name(o) for o in options])
        if isinstance(result, nm.NoMatch):
            known = [self._say_name(n) for n in result.suggestions] or known_default
            self._say(message, self._render("unknown.name", {
                "spoken": " ".join(text.split()), "known": self._known_list(known)}), intent,
                error="unknown_name", spoken=text)
            return None
        return result.name

    def _ask_choice(self, message, options: list[str], aliases: dict[str, list[str]],
                    spoken: list[str]) -> str | None:
        """Ask which of ``options`` was meant; the answer is matched to them."""
        answer = self.get_response("which.one", {"options": self._join(spoken, "or")},
                                   num_retries=1, wait=False)
        if not answer:   # cancelled, or no answer
            self._say(message, self._render("cancelled"), "cancelled")
            return None
        if self.voc_match(answer, "first"):
            return options[0]
        if self.voc_match(answer, "second"):
            return options[1] if len(options) == 2 else options[-1]
        result = nm.resolve(answer, {o: aliases.get(o, []) for o in options}, **self._kw())
        if isinstance(result, nm.Match):
            return result.name
        self._say(message, self._render("still.unclear"), "unclear")
        return None

    def _resolve_seu(self, message, text: str, intent: str):
        """(equipment, source) for ``text``, asking when unsure; None after
        speaking why not."""
        cat = self._catalog()
        aliases = self._aliases()
        if not cat.seus:
            self._say(message, self._render("list.seus.none"), intent)
            return None
        equipment_names = sorted({e for e, _ in cat.seus})
        if not text.strip():
            self._say(message, self._render("need.equipment", {
                "known": self._known_list(equipment_names)}), intent)
            return None
        result = nm.resolve_seu(text, cat.seus, equipment_aliases=aliases,
                                source_aliases=aliases, **self._kw())
        if isinstance(result, nm.NoMatch) and not result.reason:
            # A slot may hold more than the name ("the boiler's energy" of
            # "tell me about the boiler's energy model"): the name inside it.
            span = nm.find_span(text, self._equipment_candidates(), **self._kw())
            if span and span[0] != text.strip().lower():
                return self._resolve_seu(message, span[0], intent)
        if isinstance(result, nm.SeuMatch):
            return result.equipment, result.source
        if isinstance(result, nm.Ambiguous):
            options = list(result.candidates)
            seu_level = all(" " in o for o in options)
            if seu_level:
                opt_aliases = {o: [f"{o.split(' ', 1)[0]} {a}" for a in
                                   aliases.get(o.split(" ", 1)[1], [])] +
                               [self._say_name(o.split(" ", 1)[1])] +
                               aliases.get(o.split(" ", 1)[1], []) for o in options}
                spoken = [self._say_seu(*o.split(" ", 1)) for o in options]
            else:
                opt_aliases = {o: aliases.get(o, []) for o in options}
                spoken = options
            choice = self._ask_choice(message, options, opt_aliases, spoken)
            if choice is None:
                return None
            if seu_level:
                equipment, source = choice.split(" ", 1)
                return equipment, source
            own = [s for e, s in cat.seus if e == choice]
            if len(own) == 1:
                return choice, own[0]
            return self._resolve_seu(message, choice + " " + text, intent)
        # NoMatch
        if result.reason and result.suggestions and " " in result.suggestions[0]:
            equipment = result.suggestions[0].split(" ", 1)[0]
            said, _ = nm.find_mentions(text, {s: aliases.get(s, []) for s in cat.sources},
                                       **self._kw())
            self._say(message, self._render("no.source", {
                "equipment": equipment,
                "source": self._join([self._say_name(s) for s in said], "or"),
                "known": self._join([self._say_seu(*s.split(" ", 1))
                                     for s in result.suggestions])}), intent)
            return None
        spoken_text = re.sub(r"\s+", " ", text).strip()
        known = list(result.suggestions) or equipment_names[:3]
        self._say(message, self._render("unknown.name", {
            "spoken": spoken_text, "known": self._known_list(known)}), intent,
            detail=", ".join(equipment_names), error="unknown_name", spoken=spoken_text)
        return None

    def _resolve_drivers(self, message, text: str, seu: tuple[str, str], intent: str):
        """Canonical driver names for ``text``; None after speaking why not."""
        cat = self._catalog()
        aliases = self._aliases()
        candidates = cat.driver_candidates(aliases, self._num_lang)
        results = nm.resolve_list(text, candidates,
                                  conjunctions=self._words("conjunctions") or nm.CONJUNCTIONS,
                                  **self._kw())
        chosen: list[str] = []
        for result in results:
            if isinstance(result, nm.Match):
                chosen.append(result.name)
            elif isinstance(result, nm.Ambiguous):
                options = list(result.candidates)
                choice = self._ask_choice(message, options,
                                          {o: candidates.get(o, []) for o in options},
                                          [self._say_name(o) for o in options])
                if choice is None:
                    return None
                chosen.append(choice)
            else:
                own = cat.seu_drivers.get(seu, [])
                self._say(message, self._render("unknown.driver", {
                    "spoken": result.spoken, "seu": self._say_seu(*seu),
                    "known": self._join([self._say_name(d) for d in own] or
                                        [self._say_name(d) for d in cat.drivers])}),
                    intent, error="unknown_driver", spoken=result.spoken)
                return None
        return list(dict.fromkeys(chosen))

    # --- roles ---------------------------------------------------------------------------

    @property
    def role(self) -> str:
        """The device's role (skill setting ``role``; skill_enms.roles)."""
        return roles.role_of(self.settings)

    def _say_role(self, role: str) -> str:
        return self._values("roles").get(role, role.replace("_", " "))

    def _permitted(self, message, action: str, intent: str) -> bool:
        """True if the device's role may do ``action``; else says who may, and False."""
        role = self.role
        if roles.allowed(role, action):
            return True
        self._say(message, self._render("refused", {
            "action": self._render(f"action.{action}"),
            "roles": self._join([self._say_role(r) for r in roles.who_may(action)], "or"),
            "role": self._say_role(role)}), intent, error="forbidden", role=role,
            allowed_roles=list(roles.who_may(action)))
        return False

    # --- speaking results -----------------------------------------------------------------

    def _term_name(self, name: str, spec: dict) -> str:
        if name == "hdd" and spec.get("heating_balance_c") is not None:
            return self._render("changepoint.heating", {"temperature": " ".join(
                [self._number(spec["heating_balance_c"]), self._unit("C")])})
        if name == "cdd" and spec.get("cooling_balance_c") is not None:
            return self._render("changepoint.cooling", {"temperature": " ".join(
                [self._number(spec["cooling_balance_c"]), self._unit("C")])})
        return self._say_name(name)

    def _formula(self, baseline: dict) -> str:
        """'Energy in cubic metres per day equals 120 plus 14 times heating degree days ...'"""
        stats, spec = baseline["statistics"], baseline["spec"]
        minus, plus = self._render("minus"), self._render("plus")
        intercept = stats["intercept"]
        parts = [(minus + " " if intercept < 0 else "") + self._number(abs(intercept))]
        for coefficient, name in zip(stats["coefficients"], stats["names"]):
            sign = minus if coefficient < 0 else plus
            parts.append(f"{sign} " + self._render("term", {
                "coefficient": self._number(abs(coefficient)),
                "driver": self._term_name(name, spec)}))
        static = baseline.get("static_adjustment")
        text = self._render("formula", {
            "unit": self._rate_unit(spec["energy_unit"], spec["interval"]),
            "terms": " ".join(parts)})
        if static and (static.get("scale", 1) != 1 or static.get("add", 0)):
            text += " " + self._render("formula.static", {
                "scale": self._number(static.get("scale", 1)),
                "add": self._number(static.get("add", 0))})
        return text

    def _model_name(self, kind: str) -> str:
        return self._render("model.linear" if kind == "linear" else "model.changepoint")

    def _drivers_said(self, baseline: dict) -> list[str]:
        names = [self._term_name(n, baseline["spec"]) for n in baseline["statistics"]["names"]]
        return names

    # --- intents ------------------------------------------------------------------------------

    @intent_handler("train_baseline.intent")
    @pinned_lang
    def handle_train_baseline(self, message):
        intent = "train_baseline"
        try:
            if not self._permitted(message, "train_baseline", intent):
                return
            utterance = message.data.get("utterance", "")
            period, _ = self._split_period(utterance)
            seu_text = self._slot_text(message, "seu", intent, others=("drivers",))
            seu_text = self._split_period(seu_text)[1]
            drivers_text = self._split_period(self._slot_text(message, "drivers", intent))[1]
            seu = self._resolve_seu(message, seu_text, intent)
            if seu is None:
                return
            drivers = None
            if drivers_text.strip():
                drivers = self._resolve_drivers(message, drivers_text, seu, intent)
                if drivers is None:
                    return
            if period is None:
                answer = self.get_response("need.period", num_retries=1, wait=False)
                period = self._split_period(answer or "")[0] if answer else None
                if period is None:
                    self._say(message, self._render("unknown.period"), intent)
                    return
            self._train(message, seu, drivers, period)
        except Exception as exc:  # noqa: BLE001 - speak it, never crash the skill
            self._failed(message, intent, exc)

    def _train(self, message, seu, drivers, period):
        from engine import baselines
        intent = "train_baseline"
        equipment, source = seu
        result = baselines.train(self.store, equipment, source, period.first, period.last,
                                 drivers=drivers or None,
                                 trained_by=self.settings.get("trained_by") or "voice",
                                 reason=self._render("reason.voice"))
        self._names_cache = (0.0, None)
        data = {"seu": self._say_seu(equipment, source), "r2": self._r2(result["r2"]),
                "formula": self._formula(result), "version": self._number(result["version"])}
        if result["status"] == "active":
            text = self._render("trained", data)
        else:
            active = baselines.get(self.store, equipment, source)
            data["active"] = self._number(active["version"])
            text = self._render("trained.candidate", data)
        if not drivers:
            ranking = result.get("ranking") or []
            valid = sum(1 for r in ranking if r.get("valid"))
            chosen = self._drivers_said(result)
            if chosen:
                text += " " + self._render("chosen.drivers", {
                    "drivers": self._join(chosen), "valid": self._number(valid),
                    "tried": self._number(len(ranking))})
            else:
                text += " " + self._render("chosen.none")
        detail = self._explain_detail(result)
        self._say(message, text, intent, detail=detail, seu=f"{equipment} {source}",
                  equipment=equipment, energy_source=source, drivers=result["drivers"],
                  period={"start": period.first, "end": period.last},
                  result={k: result[k] for k in ("seu", "version", "status", "model", "formula",
                                                 "r2", "adj_r2", "cv_rmse_pct", "drivers",
                                                 "warnings")})

    @intent_handler("seu_report.intent")
    @pinned_lang
    def handle_seu_report(self, message):
        intent = "seu_report"
        try:
            from engine import baselines
            from engine.errors import NotFound
            utterance = message.data.get("utterance", "")
            period, _ = self._split_period(utterance)
            seu_text = self._split_period(self._slot_text(message, "seu", intent))[1]
            seu = self._resolve_seu(message, seu_text, intent)
            if seu is None:
                return
            equipment, source = seu
            if period is None:
                ref = self._reference_day()
                period = sp.Period(*sp._month(ref.year, ref.month), "month")
            try:
                result = baselines.expected(self.store, equipment, source,
                                            period.first, period.last)
            except NotFound:
                self._say(message, self._render("no.baseline", {
                    "seu": self._say_seu(equipment, source), "equipment": equipment}), intent)
                return
            pct = result["deviation_pct"] or 0.0
            unit = self._unit(result["unit"])
            data = {"seu": self._say_seu(equipment, source),
                    "period": self._say_period(period.first, period.last),
                    "actual": self._number(result["actual"]), "unit": unit,
                    "pct": self._pct(pct),
                    "significance": self._render("significant" if result["significant"]
                                                 else "not.significant")}
            shown = round(abs(pct), 1 if abs(pct) < 10 else 0)
            name = "report.equal" if shown == 0 else ("report.above" if pct > 0 else "report.below")
            detail = self._render("report.detail", {
                "expected": self._number(result["expected"]), "unit": unit,
                "lower": self._number(result["lower"]), "upper": self._number(result["upper"]),
                "used": self._number(result["intervals_used"]),
                "total": self._number(result["intervals_total"]),
                "interval": self._unit(result["interval"]),
                "intervals": self._plural_interval(result["interval"]),
                "version": self._number(result["baseline_version"])})
            self._say(message, self._render(name, data), intent, detail=detail,
                      seu=f"{equipment} {source}", equipment=equipment, energy_source=source,
                      period={"start": period.first, "end": period.last},
                      result={k: v for k, v in result.items() if k != "rows"})
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    @intent_handler("list_seus.intent")
    @pinned_lang
    def handle_list_seus(self, message):
        intent = "list_seus"
        try:
            cat = self._catalog()
            if not cat.seus:
                self._say(message, self._render("list.seus.none"), intent)
                return
            names = [self._say_seu(e, s) for e, s in cat.seus]
            self._say(message, self._render("list.seus", {
                "count": self._number(len(names)), "names": self._join(names)}), intent,
                result=[f"{e} {s}" for e, s in cat.seus])
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    @intent_handler("list_drivers.intent")
    @pinned_lang
    def handle_list_drivers(self, message):
        intent = "list_drivers"
        try:
            cat = self._catalog()
            seu_text = self._slot_text(message, "seu", intent)
            if not seu_text:
                seu_text = self._unslotted_tail(message, intent)
            all_drivers = [self._say_name(d) for d in cat.drivers]
            if not seu_text:
                self._say(message, self._render("list.drivers.all", {
                    "count": self._number(len(all_drivers)),
                    "drivers": self._join(all_drivers)}), intent, result=list(cat.drivers))
                return
            seu = self._resolve_seu(message, seu_text, intent)
            if seu is None:
                return
            own = cat.seu_drivers.get(seu, [])
            others = [d for d in cat.drivers if d not in own]
            text = self._render("list.drivers.seu", {
                "seu": self._say_seu(*seu),
                "drivers": self._join([self._say_name(d) for d in own])
                or self._render("no.drivers")})
            detail = self._render("list.drivers.other", {
                "drivers": self._join([self._say_name(d) for d in others])}) if others else None
            self._say(message, text, intent, detail=detail, seu=" ".join(seu),
                      equipment=seu[0], energy_source=seu[1], drivers=own,
                      result={"seu_drivers": own, "other_drivers": others})
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    def _unslotted_tail(self, message, intent: str) -> str:
        """Words after the intent's own words, for lines without a slot
        ('what can I use to train :0' with 'autoclave')."""
        fixed = self._intent_words(intent)
        words = (message.data.get("utterance") or "").split()
        i = len(words)
        while i > 0 and words[i - 1].lower() not in fixed:
            i -= 1
        return " ".join(words[i:])

    @intent_handler("explain_baseline.intent")
    @pinned_lang
    def handle_explain_baseline(self, message):
        intent = "explain_baseline"
        try:
            from engine import baselines
            from engine.errors import NotFound
            seu_text = self._split_period(self._slot_text(message, "seu", intent))[1]
            seu = self._resolve_seu(message, seu_text, intent)
            if seu is None:
                return
            equipment, source = seu
            try:
                baseline = baselines.get(self.store, equipment, source)
            except NotFound:
                self._say(message, self._render("no.baseline", {
                    "seu": self._say_seu(equipment, source), "equipment": equipment}), intent)
                return
            start = date.fromisoformat(str(baseline["period_start"])[:10])
            end = date.fromisoformat(str(baseline["period_end"])[:10])
            text = self._render("explain", {
                "seu": self._say_seu(equipment, source),
                "version": self._number(baseline["version"]),
                "model": self._model_name(baseline["model"]),
                "period": self._say_period(start, end),
                "drivers": self._join(self._drivers_said(baseline))
                or self._render("no.drivers"),
                "r2": self._r2(baseline["r2"]), "formula": self._formula(baseline)})
            if baseline["warnings"]:
                text += " " + self._render("explain.warnings", {
                    "count": self._number(len(baseline["warnings"]))})
            self._say(message, text, intent, detail=self._explain_detail(baseline),
                      seu=f"{equipment} {source}", equipment=equipment, energy_source=source,
                      drivers=baseline["drivers"],
                      result={k: baseline[k] for k in ("seu", "version", "status", "model",
                                                       "formula", "r2", "adj_r2", "cv_rmse_pct",
                                                       "drivers", "warnings", "period")})
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    def _explain_detail(self, baseline: dict) -> str:
        text = self._render("explain.detail", {
            "by": baseline.get("trained_by") or self._render("unknown.value"), "reason": baseline.get("reason") or "",
            "used": self._number(baseline.get("n_used") or 0),
            "total": self._number(baseline.get("n_total") or 0),
            "interval": self._unit(baseline.get("interval") or "day"),
            "intervals": self._plural_interval(baseline.get("interval") or "day"),
            "cv": self._number(baseline.get("cv_rmse_pct") or 0, 2)})
        return " ".join([text] + [self._say_warning(w.get("code"), baseline)
                                  for w in baseline.get("warnings") or []])

    def _plural_interval(self, interval: str) -> str:
        return self._values("intervals").get(interval, self._unit(interval))

    def _say_warning(self, code: str | None, baseline: dict) -> str:
        """A model warning in the locale's words (warning.<code>.dialog), with the
        statistics it is about; a generic line for a code the locale lacks."""
        stats = baseline.get("statistics") or {}
        names = stats.get("names") or []
        collinear = [n for n, v in zip(names, stats.get("vif") or []) if v and v > 10]
        name = f"warning.{code}"
        if name not in self.dialog_renderer.templates:
            name = "warning.other"
        return self._render(name, {
            "r2": self._r2(stats.get("r2") or 0),
            "cv": self._number(stats.get("cv_rmse_pct") or 0, 2),
            "nmbe": self._number(stats.get("nmbe_pct") or 0, 2),
            "rho": self._decimal(stats.get("autocorrelation_lag1") or 0, 2),
            "drivers": self._join([self._say_name(n) for n in collinear or names])})

    @intent_handler("help.intent")
    @pinned_lang
    def handle_help(self, message):
        # Help's sample lines are one or two words, so padatious may give it
        # any short unknown utterance ("bla bla bla"): without one of its own
        # words it is not understood rather than answered.
        utterance = message.data.get("utterance") or ""
        spoken = set(re.findall(r"[^\W\d_]+", utterance.lower()))
        if not spoken & self._intent_words("help"):
            # Not help: free speech may still be understood ("can you tell me
            # how the pump did yesterday"); else nothing matched.
            if not self.handle_free_speech(message.forward(message.msg_type, {
                    "utterances": [utterance], "lang": message.data.get("lang")})):
                self.bus.emit(message.forward("complete_intent_failure", {"lang": self.lang}))
            return
        self._say(message, self._render("help"), "help", detail=self._render("help.detail"))

    @intent_handler("tell_more.intent")
    @pinned_lang
    def handle_tell_more(self, message):
        detail = self._detail.pop(self._session_id(message), None)
        self._say(message, detail or self._render("no.more"), "tell_more")

    def _failed(self, message, intent: str, exc: Exception):
        """Say why it did not work in the utterance's language: an engine error
        with a code through error.<code>.dialog (its detail, e.g. the missing
        days, through error.<code>.detail.dialog on "tell me more"); anything
        else as the locale's generic failure line (the engine's English
        message goes only into the answer's metadata)."""
        from engine.errors import EnmsError
        if not isinstance(exc, EnmsError):
            self.log.exception(f"{intent} failed")
        code = exc.code if isinstance(exc, EnmsError) else None
        name = f"error.{code}"
        if code is None or name not in self.dialog_renderer.templates:
            self._say(message, self._render("failed.generic"), intent,
                      error=code or type(exc).__name__, error_message=str(exc))
            return
        data = self._error_data(exc.params)
        detail = self._render(f"{name}.detail", data) \
            if f"{name}.detail" in self.dialog_renderer.templates else None
        self._say(message, self._render("failed", {"reason": self._render(name, data)}),
                  intent, detail=detail, error=code, error_message=str(exc))

    def _error_data(self, params: dict) -> dict:
        """An engine error's params as words: numbers and dates spoken, catalog
        names as they are said, lists shortened ('A, B, C and others')."""
        data = {}
        for key, value in params.items():
            if value is None or isinstance(value, bool):
                data[key] = ""
            elif key == "seu":
                data[key] = self._say_seu(*str(value).split(" ", 1)) if " " in str(value) \
                    else str(value)
            elif key == "r2":
                data[key] = self._r2(value)
            elif key == "interval":
                data[key] = self._unit(value)
                data["intervals"] = self._plural_interval(value)
            elif isinstance(value, (int, float)):
                data[key] = self._number(value)
            elif isinstance(value, date):
                data[key] = self._say_date(value, year=True)
            elif isinstance(value, (list, tuple)):
                data[key] = self._known_list([self._say_date(v, year=True)
                                              if isinstance(v, date) else self._say_name(str(v))
                                              for v in value])
                data[f"{key}_count"] = self._number(len(value))
            else:
                data[key] = self._say_name(str(value))
        if isinstance(params.get("first"), date) and isinstance(params.get("last"), date):
            data["period"] = self._say_when(sp.Period(params["first"], params["last"], "range"))
        if params.get("equipment") and params.get("source"):
            data["seu"] = self._say_seu(params["equipment"], params["source"])
        return data


def create_skill(*args, **kwargs):  # older loaders
    return EnmsSkill(*args, **kwargs)
