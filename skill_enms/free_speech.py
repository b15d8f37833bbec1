"""Utterances no intent template fitted: the skill's fallback handler.

Padatious answers what is close to an intent's sample sentences. What is
not ("is the sensor on the hydraulic pump working", "catch me up on the
night shift") reaches OVOS's fallback stage, where this handler looks for
the intent by its key words (``skill_enms.keywords``), finds the names in
the utterance (an equipment as the best-fitting run of words,
``engine.names.find_span``; energy sources and drivers said word for word),
and runs the intent's own handler with them as its slots: the same answers,
questions and refusals as for a matched sentence. ``can_answer`` tells
OVOS beforehand whether the skill will take the utterance, so other skills'
fallbacks get what this one does not understand.
"""
from __future__ import annotations

from ovos_workshop.decorators import fallback_handler

from engine import names as nm
from skill_enms import keywords as kw

# Medium fallback band (5-89): after padatious's medium-confidence matches,
# before low-priority catch-alls such as chat bots.
FALLBACK_PRIORITY = 50
# Set in a message whose slots came from here: the slots are the names as
# said, whole (no words after them to join, as for a padatious slot).
FREE_SPEECH = "enms_free_speech"
FREE_SPEECH_MESSAGE = "enms.free_speech.intent"
SEU_SLOT_INTENTS = ("seu_report", "cusum_status", "train_baseline", "explain_baseline",
                    "list_drivers")


class FreeSpeechMixin:
    """Mixed into the skill (a ``FallbackSkill``)."""

    def _grammar(self) -> kw.Grammar:
        """The locale's ``grammar.value`` (stemmer, compounds); none: exact words."""
        table = self._values("grammar")
        return kw.Grammar(stemmer=table.get("stemmer", "").strip(),
                          compounds=table.get("compounds", "").strip().lower() == "yes")

    def _cues(self) -> dict:
        key = (self.lang, "cues")
        if key not in self._value_cache:
            found = {}
            for name in kw.CUE_LISTS:
                for kind in ("cue", "weak"):
                    try:
                        words = self.voc_list(f"{kind}.{name}")
                    except Exception:  # noqa: BLE001 - a list the locale lacks is empty
                        words = []
                    found[f"{kind}.{name}"] = kw.phrases(words, grammar=self._grammar(),
                                                         **self._kw())
            self._value_cache[key] = found
        return self._value_cache[key]

    def _understand(self, utterance: str) -> tuple[str | None, dict]:
        """(intent, slots) for free speech; intent None when it is not ours."""
        cat = self._catalog()
        aliases = self._aliases()
        span = nm.find_span(utterance, self._equipment_candidates(), **self._kw())
        sources, _ = nm.find_mentions(utterance, {s: aliases.get(s, []) for s in cat.sources},
                                      **self._kw())
        drivers, _ = nm.find_mentions(utterance, cat.driver_candidates(aliases, self._num_lang),
                                      **self._kw())
        said = {name for name, found in ((kw.SEU, span), (kw.SOURCE, sources),
                                         (kw.DRIVER, drivers),
                                         (kw.PERIOD, self._split_period(utterance)[0]))
                if found}
        intent = kw.classify(utterance, self._cues(), said, grammar=self._grammar(),
                             **self._kw())
        named = span[0] if span else ""
        if intent in SEU_SLOT_INTENTS:
            slots = {"seu": " ".join(sources + [named]).strip() if named else ""}
            if intent == "train_baseline":
                slots["drivers"] = f" {self._render('and')} ".join(drivers)
        else:
            slots = {"target": named or (drivers[0] if drivers and intent == "data_quality"
                                         else " ".join(sources))}
        return intent, slots

    def can_answer(self, message) -> bool:
        utterance = (message.data.get("utterances") or [""])[0]
        try:
            understood = self._understand(utterance)
        except Exception:  # noqa: BLE001 - e.g. no database: leave it to others
            self.log.exception("free speech")
            return False
        # OVOS asks this first and then runs the handler on the same utterance.
        self._understood = (utterance, understood)
        return understood[0] is not None

    @fallback_handler(priority=FALLBACK_PRIORITY)
    def handle_free_speech(self, message) -> bool:
        utterance = (message.data.get("utterances") or [""])[0]
        asked, self._understood = self._understood, None
        try:
            intent, slots = asked[1] if asked and asked[0] == utterance else \
                self._understand(utterance)
        except Exception:  # noqa: BLE001
            self.log.exception("free speech")
            return False
        if intent is None:
            return False
        message.data.update(slots, utterance=utterance, **{FREE_SPEECH: True})
        # What a matched intent's message tells listeners (the chat's JSON
        # answer): the intent and its slots.
        self.bus.emit(message.forward(FREE_SPEECH_MESSAGE, {"intent": intent, **slots}))
        getattr(self, f"handle_{intent}")(message)
        return True
