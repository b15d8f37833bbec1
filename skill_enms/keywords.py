"""Which intent free speech asks for, by its key words, when no intent
template fitted.

Padatious matches an utterance against each intent's sample sentences; people
say the same request in far more ways than any sample list holds ("any
sensor issues on the boiler", "is the sensor on the hydraulic pump working",
"have we got any flatlined meters"). This is the second chance the skill
gives such utterances (its fallback handler): the key words of each intent,
from the locale's ``cue.<name>.voc`` and ``weak.<name>.voc`` files, and the
names the utterance holds.

Rules (``RULES``, tried in order; the first that holds wins):

- a rule holds if a cue of its intent is said (``cue.<intent>``), or a weak
  cue (``weak.<intent>``) together with context: a catalog name, a period or
  a domain word (``cue.domain``: energy, meter, gas, ...). "Help me save
  this file" is not a savings question;
- some intents need more: acknowledging needs an alert named ("clear the
  alarm"), training and explaining a model word or an equipment ("retrain
  the boiler"), a report an equipment; the equipment list is asked for
  without one;
- the order settles utterances with cues of several intents: "which drivers
  does the boiler baseline use" is explained, not listed; "how much did the
  boiler save" is savings, not a report; "is the electricity data good
  enough to train on" is data quality (nothing to train is named);
- nothing fits, but an equipment and a period are said ("boiler one last
  month"): the report.

The words are matched after ``engine.names.normalise`` (lower case, number
words as digits, spelled letters joined, articles dropped), cues and
utterance alike, whole words only; a language may ask for stems and
compounds (``Grammar``, from the locale). Nothing here is English: the words
are the locale's.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping

from engine import names as nm

# What the skill found in the utterance besides the words (``classify``'s ``said``).
SEU, SOURCE, DRIVER, PERIOD = "seu", "source", "driver", "period"
CONTEXT = (SEU, SOURCE, DRIVER, PERIOD)


@dataclass(frozen=True)
class Rule:
    """``intent`` holds if its cues are said and ``needs`` (every item) and
    ``needs_any`` (one item) are met, and nothing of ``without`` is said.
    Items are cue list names or context names (``SEU``...)."""
    intent: str
    cue: str = ""
    needs: tuple[str, ...] = ()
    needs_any: tuple[str, ...] = ()
    without: tuple[str, ...] = ()


RULES = (
    Rule("acknowledge_alert", "acknowledge", needs=("alert_word",)),
    Rule("help", "help", without=(SEU,)),
    Rule("explain_baseline", "explain", needs_any=("model_word", SEU)),
    Rule("train_baseline", "train", needs_any=("model_word", SEU, DRIVER)),
    Rule("list_drivers", "list_drivers"),
    Rule("cusum_status", "cusum"),
    Rule("savings", "savings"),
    Rule("data_quality", "data_quality"),
    Rule("alerts", "alerts"),
    Rule("briefing", "briefing"),
    Rule("list_seus", "list_seus", needs=("list_verbs",), without=(SEU,)),
    Rule("seu_report", "seu_report", needs=(SEU,)),
)
# Every word list the rules read: their cues, what they need, and the domain.
CUE_LISTS = tuple(sorted({r.cue for r in RULES} | {"domain"} |
                         {n for r in RULES for n in r.needs + r.needs_any + r.without
                          if n not in CONTEXT}))
# Nothing else fits, but these are said: a report.
DEFAULT = ("seu_report", (SEU, PERIOD))


@dataclass(frozen=True)
class Grammar:
    """How a language's words are matched (the locale's ``grammar.value``):
    ``stemmer``, a Snowball stemmer's name ("german": "trainier" and
    "trainiere" are one word), empty for exact words; ``compounds``, a word
    also says a cue it ends with ("stromzähler" says "zähler"), for languages
    that write compounds as one word. English: exact words, no compounds
    ("unacknowledged" must not say "acknowledged")."""
    stemmer: str = ""
    compounds: bool = False

    def words(self, text: str, lang: str, articles: Iterable[str]) -> list[str]:
        words = nm.normalise(text, lang, articles).split()
        return _stemmer(self.stemmer).stemWords(words) if self.stemmer else words


@lru_cache(maxsize=None)
def _stemmer(name: str):
    import snowballstemmer
    return snowballstemmer.stemmer(name)


# A compound says a cue it ends with only if the cue is this long (not "ab").
COMPOUND_MIN_LETTERS = 5


def phrases(words: Iterable[str], lang: str = "en", articles: Iterable[str] = nm.ARTICLES,
            grammar: Grammar = Grammar()) -> tuple[tuple[str, ...], ...]:
    """Cue phrases as normalised word tuples (for ``classify``'s ``cues``)."""
    out = {tuple(grammar.words(w, lang, articles)) for w in words}
    return tuple(sorted(p for p in out if p))


def _says(words: list[str], cue: tuple[tuple[str, ...], ...], compounds: bool = False) -> bool:
    for phrase in cue:
        n = len(phrase)
        for i in range(len(words) - n + 1):
            run = tuple(words[i:i + n])
            if run == phrase or (compounds and n == 1 and len(phrase[0]) >= COMPOUND_MIN_LETTERS
                                 and run[0].endswith(phrase[0])):
                return True
    return False


def classify(text: str, cues: Mapping[str, tuple[tuple[str, ...], ...]], said: set[str],
             *, lang: str = "en", articles: Iterable[str] = nm.ARTICLES,
             grammar: Grammar = Grammar()) -> str | None:
    """The intent ``text`` asks for, or None.

    cues: {name: phrases} for ``cue.<name>``/``weak.<name>`` lists, as made
    by ``phrases`` (``"cue.alerts"``, ``"weak.alerts"``, ``"cue.domain"``...).
    said: the context found in the utterance, a subset of ``CONTEXT``.

    >>> cues = {"cue.alerts": phrases(["alarms"]), "weak.savings": phrases(["save"]),
    ...         "cue.domain": phrases(["energy"])}
    >>> classify("are there open alarms", cues, set())
    'alerts'
    >>> classify("save this file", cues, set()) is None
    True
    """
    words = grammar.words(text, lang, articles)

    def says(name: str) -> bool:
        return _says(words, cues.get(name, ()), grammar.compounds)

    def has(item: str) -> bool:
        return item in said if item in CONTEXT else says(f"cue.{item}")

    context = bool(said) or has("domain")
    for rule in RULES:
        strong = says(f"cue.{rule.cue}")
        weak = context and says(f"weak.{rule.cue}")
        if not (strong or weak):
            continue
        if all(has(n) for n in rule.needs) and \
                (not rule.needs_any or any(has(n) for n in rule.needs_any)) and \
                not any(has(n) for n in rule.without):
            return rule.intent
    intent, needed = DEFAULT
    return intent if all(n in said for n in needed) else None
