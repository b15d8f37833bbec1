"""Spoken names against the catalog: "boiler one" -> Boiler-1, "gas" -> natural_gas.

Speech recognisers write names the way people say them: "boiler one",
"compressor E U one", "H vac main", "the hydraulic pump". This module turns
such text into a canonical catalog name, or says that it cannot: it never
guesses (DESIGN "Voice").

The functions are pure: they take the candidate names (and any aliases) from
the caller, so the engine API stays narrow; ``catalog_names`` is the one thin
function that reads them from a store. Nothing here is English-only: articles,
number words and conjunctions are parameters (English defaults), and number
words come from num2words in the language asked for.

Normalisation (both the spoken text and every candidate go through it):

1. lower case; ``-``, ``_``, ``.`` and other punctuation become spaces;
   letters and digits written together are split ("boiler1" -> "boiler 1");
2. number words become digits ("one" -> 1, "twenty four" -> 24);
3. runs of single letters are joined ("e u" -> "eu", "h v a c" -> "hvac");
4. articles are dropped, except as the last word ("the boiler" -> "boiler",
   but "conveyor a" keeps its "a").

Scoring (0-100) of spoken text q against one form c of a candidate:

- word level: each word of q is matched to its best word of c (equal: 1;
  one a prefix of the other, at least 3 letters: 0.9; rapidfuzz ratio >= 80:
  the ratio; numbers must be equal) giving recall (how much of q is found in
  c) and precision (how much of c was said); score = 100 x (0.75 recall +
  0.25 precision), so leaving out words of a name ("hvac north" for
  HVAC-EU-North) costs less than saying words it does not have;
- letter level: rapidfuzz ratio of q and c without spaces ("h vac main" vs
  "hvac main"), used only when every number said also occurs in c and the
  ratio is >= 80, as for words ("boiler" is not "the bottler", 76.9);
- a candidate's score is its best form's.

Decision (``resolve``):

- an exact match of the normalised text wins;
- best score below ``THRESHOLD`` (70): ``NoMatch`` with a few suggestions;
- several candidates contain every spoken word (recall >= 0.95) and the best
  one was not said in full (its precision < 0.95: "compressor" with
  Compressor-1 and Compressor-EU-1): ``Ambiguous``;
- another candidate within ``MARGIN`` (6 points) of the best: ``Ambiguous``;
- otherwise ``Match``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping

from rapidfuzz import fuzz

THRESHOLD = 70.0
MARGIN = 6.0
FULL_RECALL = 0.95
# A name looked for inside free text (find_span) must fit better than one
# said in a slot: the runs around it are not names at all.
SPAN_THRESHOLD = 85.0
SPAN_MAX_WORDS = 4
# Two words (or two names written without spaces) this alike are one
# misheard or misspelt: rapidfuzz ratio / 100.
WORD_RATIO = 0.8
ARTICLES = ("the", "a", "an")
CONJUNCTIONS = ("and", "plus", "with", "also")
_SPLIT_ALNUM = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_PUNCT = re.compile(r"[^\w\s.]|_")


# --- results -------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    """The spoken text names ``name`` (canonical) with ``score`` (0-100)."""
    name: str
    score: float
    spoken: str = ""

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True)
class Ambiguous:
    """Two or more candidates fit about equally well: ask which one."""
    candidates: tuple[str, ...]
    scores: tuple[float, ...]
    spoken: str = ""

    @property
    def ok(self) -> bool:
        return False


@dataclass(frozen=True)
class NoMatch:
    """Nothing fits well enough; ``suggestions`` are the closest names."""
    spoken: str
    suggestions: tuple[str, ...] = ()
    reason: str = ""

    @property
    def ok(self) -> bool:
        return False


@dataclass(frozen=True)
class SeuMatch:
    """An SEU: one piece of equipment on one energy source."""
    equipment: str
    source: str
    score: float
    spoken: str = ""

    @property
    def name(self) -> str:
        return f"{self.equipment} {self.source}"

    @property
    def ok(self) -> bool:
        return True


# --- numbers -----------------------------------------------------------------------

def _num2words_lang(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].lower() or "en"


@lru_cache(maxsize=16)
def number_words(lang: str = "en") -> dict[str, int]:
    """Single number words of ``lang`` and their values, from num2words:
    0-19, the tens, hundred and thousand ("one" -> 1, "twenty" -> 20)."""
    from num2words import num2words
    code = _num2words_lang(lang)
    words: dict[str, int] = {}
    for n in list(range(0, 20)) + list(range(20, 100, 10)):
        try:
            text = num2words(n, lang=code)
        except NotImplementedError:
            text = num2words(n, lang="en")
        words.setdefault(_plain(text), n)
    for n in (100, 1000):
        try:
            text = _plain(num2words(n, lang=code)).split()
        except NotImplementedError:
            text = _plain(num2words(n, lang="en")).split()
        words.setdefault(text[-1], n)   # "one hundred" -> "hundred"
    if len(_plain(_say(21, code)).split()) == 1:
        # A language that writes numbers as one word ("einundzwanzig",
        # "zweitausendvierundzwanzig") gets every number below a thousand and
        # the years 1900-2100 (also as years: "neunzehnhundertneunundneunzig").
        for n in range(1000):
            words.setdefault(_plain(_say(n, code)), n)
        for n in range(1900, 2101):
            words.setdefault(_plain(_say(n, code)), n)
            words.setdefault(_plain(_say(n, code, to="year")), n)
    return words


def _say(n: int, code: str, to: str = "cardinal") -> str:
    from num2words import num2words
    try:
        return num2words(n, lang=code, to=to)
    except NotImplementedError:
        return num2words(n, lang="en", to=to)


def _plain(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def _numbers_to_digits(tokens: list[str], lang: str) -> list[str]:
    """'twenty four' -> '24', 'one' -> '1', 'two thousand twenty four' -> '2024'."""
    table = number_words(lang)
    out: list[str] = []
    run: list[int] = []

    def flush():
        if not run:
            return
        total, current = 0, 0
        for value in run:
            if value == 100:
                current = max(current, 1) * 100
            elif value == 1000:
                total += max(current, 1) * 1000
                current = 0
            else:
                current += value
        out.append(str(total + current))
        run.clear()

    for token in tokens:
        value = table.get(token)
        if value is None:
            flush()
            out.append(token)
            continue
        # "twenty four" adds up; "one two" or "twenty twenty" are two numbers.
        if run and not _continues(run, value):
            flush()
        run.append(value)
    flush()
    return out


def _continues(run: list[int], value: int) -> bool:
    last = run[-1]
    if value in (100, 1000):
        return True
    if last in (100, 1000):
        return True
    return last >= 20 and last % 10 == 0 and value < 10


def to_words(text: str, lang: str = "en") -> str:
    """Digits as words, for speaking a name: 'Boiler-1' -> 'Boiler one'."""
    from num2words import num2words
    code = _num2words_lang(lang)

    def say(m):
        try:
            return num2words(int(m.group(0)), lang=code)
        except NotImplementedError:
            return num2words(int(m.group(0)), lang="en")
    spaced = _SPLIT_ALNUM.sub(" ", text.replace("-", " ").replace("_", " "))
    return " ".join(re.sub(r"\d+", say, spaced).split())


# --- normalisation -----------------------------------------------------------------

def normalise(text: str, lang: str = "en", articles: Iterable[str] = ARTICLES) -> str:
    """The form both spoken text and catalog names are compared in.

    >>> normalise("The Compressor E U one")
    'compressor eu 1'
    >>> normalise("HVAC-EU-North")
    'hvac eu north'
    >>> normalise("Conveyor-A")
    'conveyor a'
    """
    text = _SPLIT_ALNUM.sub(" ", str(text))
    text = _PUNCT.sub(" ", text.lower())
    # A dot between digits is a decimal point; elsewhere it is punctuation.
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    tokens = _numbers_to_digits(text.split(), lang)
    tokens = _join_letters(tokens)
    drop = {a.lower() for a in articles}
    kept = [t for i, t in enumerate(tokens) if not (t in drop and i < len(tokens) - 1)]
    return " ".join(kept)


def _join_letters(tokens: list[str]) -> list[str]:
    """Runs of two or more single letters become one word ('e u' -> 'eu')."""
    out: list[str] = []
    run: list[str] = []
    for token in tokens + [""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if len(run) >= 2:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if token:
            out.append(token)
    return out


def spoken_forms(name: str, unit: str | None = None, lang: str = "en",
                 articles: Iterable[str] = ARTICLES) -> list[str]:
    """Normalised forms a catalog name is recognised by: the name itself, and
    for a name that ends in its unit ('outdoor_temp_c' [C]) the name without it."""
    forms = [normalise(name, lang, articles)]
    if unit:
        tail = normalise(unit, lang, ())
        words = forms[0].split()
        if tail and len(words) > 1 and words[-1] == tail.replace(" ", ""):
            forms.append(" ".join(words[:-1]))
    return list(dict.fromkeys(f for f in forms if f))


# --- scoring -----------------------------------------------------------------------

def _word_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if a.isdigit() or b.isdigit():
        return 0.0
    if min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)):
        return 0.9
    ratio = fuzz.ratio(a, b) / 100.0
    return ratio if ratio >= WORD_RATIO else 0.0


@dataclass(frozen=True)
class _Score:
    score: float
    recall: float
    precision: float
    exact: bool


def _score(query: str, form: str) -> _Score:
    q, c = query.split(), form.split()
    if not q or not c:
        return _Score(0.0, 0.0, 0.0, False)
    if q == c:
        return _Score(100.0, 1.0, 1.0, True)
    recall = sum(max(_word_similarity(t, w) for w in c) for t in q) / len(q)
    precision = sum(max(_word_similarity(w, t) for t in q) for w in c) / len(c)
    score = 100.0 * (0.75 * recall + 0.25 * precision)
    said_numbers = {t for t in q if t.isdigit()}
    if said_numbers <= {w for w in c if w.isdigit()}:
        # Letters compared without spaces ('h vac main' / 'hvac main') count
        # as a spelling only when as alike as two words must be: 'boiler' is
        # not 'bottler' (76.9).
        compact = fuzz.ratio("".join(q), "".join(c))
        if compact >= 100.0 * WORD_RATIO:
            score = max(score, compact)
    # Compact equality ('h vac main' = 'hvac main') is exact too.
    exact = "".join(q) == "".join(c)
    if exact:
        score = 100.0
    return _Score(min(score, 100.0), recall, precision, exact)


def _as_forms(candidates, lang: str, articles) -> dict[str, list[str]]:
    """{canonical: [normalised forms]} from a list of names or a mapping of aliases."""
    if isinstance(candidates, Mapping):
        items = candidates.items()
    else:
        items = ((name, ()) for name in candidates)
    out: dict[str, list[str]] = {}
    for name, aliases in items:
        forms = [normalise(name, lang, articles)]
        forms += [normalise(a, lang, articles) for a in (aliases or ())]
        out[name] = list(dict.fromkeys(f for f in forms if f))
    return out


def score_all(spoken: str, candidates, lang: str = "en",
              articles: Iterable[str] = ARTICLES) -> list[tuple[str, float]]:
    """Every candidate with its score, best first (for tests and suggestions)."""
    query = normalise(spoken, lang, articles)
    rows = []
    for name, forms in _as_forms(candidates, lang, articles).items():
        best = max((_score(query, f) for f in forms), key=lambda s: s.score)
        rows.append((name, best.score))
    return sorted(rows, key=lambda r: -r[1])


def resolve(spoken: str, candidates, *, lang: str = "en", articles: Iterable[str] = ARTICLES,
            threshold: float = THRESHOLD, margin: float = MARGIN,
            suggestions: int = 3) -> Match | Ambiguous | NoMatch:
    """The candidate ``spoken`` names, or Ambiguous / NoMatch (see the module doc).

    candidates: canonical names, or {canonical name: [aliases]}.

    >>> resolve("boiler one", ["Boiler-1", "Compressor-1"]).name
    'Boiler-1'
    >>> resolve("compressor", ["Compressor-1", "Compressor-EU-1"]).candidates
    ('Compressor-1', 'Compressor-EU-1')
    """
    query = normalise(spoken, lang, articles)
    forms = _as_forms(candidates, lang, articles)
    if not query or not forms:
        return NoMatch(spoken, tuple(list(forms)[:suggestions]))
    scored = []
    for name, name_forms in forms.items():
        best = max((_score(query, f) for f in name_forms), key=lambda s: (s.score, s.exact))
        scored.append((name, best))
    scored.sort(key=lambda r: (-r[1].score, not r[1].exact, r[0]))
    exact = [name for name, s in scored if s.exact]
    if len(exact) == 1:
        return Match(exact[0], 100.0, spoken)
    if len(exact) > 1:
        return Ambiguous(tuple(exact), tuple(100.0 for _ in exact), spoken)
    best_name, best = scored[0]
    if best.score < threshold:
        return NoMatch(spoken, tuple(name for name, s in scored[:suggestions] if s.score > 0)
                       or tuple(name for name, _ in scored[:suggestions]))
    full = [(name, s) for name, s in scored if s.recall >= FULL_RECALL and s.score >= threshold]
    if len(full) > 1 and best.precision < FULL_RECALL:
        return Ambiguous(tuple(n for n, _ in full), tuple(round(s.score, 1) for _, s in full),
                         spoken)
    close = [(name, s) for name, s in scored if s.score >= threshold and
             s.score >= best.score - margin]
    if len(close) > 1:
        return Ambiguous(tuple(n for n, _ in close), tuple(round(s.score, 1) for _, s in close),
                         spoken)
    return Match(best_name, round(best.score, 1), spoken)


def find_mentions(text: str, candidates, *, lang: str = "en",
                  articles: Iterable[str] = ARTICLES) -> tuple[list[str], str]:
    """Candidates named word for word inside ``text`` (longest forms first),
    and the text that is left: ('gas boiler', sources) -> (['natural_gas'], 'boiler')."""
    words = normalise(text, lang, articles).split()
    forms = sorted(((f.split(), name) for name, fs in _as_forms(candidates, lang, articles).items()
                    for f in fs), key=lambda x: -len(x[0]))
    found: list[str] = []
    i, rest = 0, []
    while i < len(words):
        for form, name in forms:
            if form and words[i:i + len(form)] == form:
                if name not in found:
                    found.append(name)
                i += len(form)
                break
        else:
            rest.append(words[i])
            i += 1
    return found, " ".join(rest)


def find_span(text: str, candidates, *, lang: str = "en", articles: Iterable[str] = ARTICLES,
              threshold: float = SPAN_THRESHOLD, max_words: int = SPAN_MAX_WORDS
              ) -> tuple[str, float] | None:
    """The run of words in ``text`` that best names one of ``candidates``, and
    its score: ('are there gaps in the boiler one meter data', equipment) ->
    ('boiler one', 100.0); None when no run reaches ``threshold``.

    For free text in which a name sits among other words (no slot around it).
    Runs of 1 to ``max_words`` words are scored like ``score_all``; the best
    score wins, the longer run on a tie ('boiler one' over 'boiler'). The run
    is returned as said, for ``resolve`` to decide (it may still be ambiguous:
    'the compressor').
    """
    words = re.sub(r"'s\b", "", text.lower()).split()
    forms = [f for fs in _as_forms(candidates, lang, articles).values() for f in fs]
    known = {w for f in forms for w in f.split()}
    best: tuple[float, int, str] | None = None
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + max_words) + 1):
            run = " ".join(words[start:end])
            query = normalise(run, lang, articles)
            # A run whose first or last word is in no name cannot beat the
            # same run without it (cheap to skip, most runs are such).
            if not query or not _near(query.split()[0], known) or \
                    not _near(query.split()[-1], known):
                continue
            score = max(_score(query, f).score for f in forms)
            if score >= threshold and (best is None or (score, end - start) > best[:2]):
                best = (score, end - start, run)
    return (best[2], best[0]) if best else None


def _near(word: str, known: set[str]) -> bool:
    """Whether ``word`` may belong to a name: one of its words, like one, or
    the start of one ('h' of 'hvac' in 'h vac main')."""
    return word in known or any(k.startswith(word) or _word_similarity(word, k) > 0
                                for k in known)


def resolve_list(spoken: str, candidates, *, lang: str = "en",
                 articles: Iterable[str] = ARTICLES,
                 conjunctions: Iterable[str] = CONJUNCTIONS,
                 **kwargs) -> list[Match | Ambiguous | NoMatch]:
    """Several names said in a row: 'outdoor temperature and production count'.

    Parts are split at commas and ``conjunctions``; a part made of two or more
    names said word for word without a conjunction is taken as those names.
    """
    conj = {c.lower() for c in conjunctions}
    parts, current = [], []
    for token in re.split(r"\s+", _PUNCT.sub(lambda m: " , " if m.group(0) == "," else " ",
                                             spoken.replace(",", " , "))):
        if not token:
            continue
        if token == "," or token.lower() in conj:
            if current:
                parts.append(" ".join(current))
            current = []
        else:
            current.append(token)
    if current:
        parts.append(" ".join(current))
    results: list[Match | Ambiguous | NoMatch] = []
    for part in parts:
        found, rest = find_mentions(part, candidates, lang=lang, articles=articles)
        if len(found) > 1 and not rest:
            results.extend(Match(name, 100.0, part) for name in found)
            continue
        results.append(resolve(part, candidates, lang=lang, articles=articles, **kwargs))
    return results


def resolve_seu(spoken: str, seus: Iterable[tuple[str, str]], *,
                equipment_aliases: Mapping[str, Iterable[str]] | None = None,
                source_aliases: Mapping[str, Iterable[str]] | None = None,
                source: str | None = None, lang: str = "en",
                articles: Iterable[str] = ARTICLES,
                **kwargs) -> SeuMatch | Ambiguous | NoMatch:
    """An SEU from text such as 'natural gas Boiler-1', 'gas boiler', 'boiler one'.

    seus: (equipment, energy source) pairs. Energy sources said word for word
    ('gas', 'electricity') are taken out of the text first, the rest is the
    equipment. An equipment with a single SEU needs no source. ``source``: an
    energy source already resolved elsewhere in the utterance.
    Ambiguous candidates are SEU names ('Boiler-1 natural_gas') when the
    equipment is clear but its source is not, else equipment names.
    """
    pairs = list(dict.fromkeys(tuple(p) for p in seus))
    sources = sorted({s for _, s in pairs})
    source_cands = {s: list((source_aliases or {}).get(s, ())) for s in sources}
    said_sources, rest = find_mentions(spoken, source_cands, lang=lang, articles=articles)
    if source:
        said_sources = list(dict.fromkeys([source] + said_sources))
    equipment_names = sorted({e for e, _ in pairs})
    if not rest.strip():
        return NoMatch(spoken, tuple(equipment_names[:3]), reason="no equipment named")

    def cands(names):
        return {e: list((equipment_aliases or {}).get(e, ())) for e in names}

    narrowed = [e for e, s in pairs if not said_sources or s in said_sources]
    result = resolve(rest, cands(sorted(set(narrowed))) if narrowed else {},
                     lang=lang, articles=articles, **kwargs) if narrowed else None
    if not isinstance(result, Match):
        wide = resolve(rest, cands(equipment_names), lang=lang, articles=articles, **kwargs)
        if result is None or isinstance(wide, Match):
            result = wide
    if not isinstance(result, Match):
        return result
    own = [s for e, s in pairs if e == result.name]
    if said_sources:
        fitting = [s for s in own if s in said_sources]
        if not fitting:
            return NoMatch(spoken, tuple(f"{result.name} {s}" for s in own),
                           reason=f"{result.name} has no SEU on {', '.join(said_sources)}")
        own = fitting
    if len(own) == 1:
        return SeuMatch(result.name, own[0], result.score, spoken)
    return Ambiguous(tuple(f"{result.name} {s}" for s in own),
                     tuple(result.score for _ in own), spoken)


# --- the catalog ---------------------------------------------------------------------

@dataclass
class CatalogNames:
    """What a store's catalog holds, as the name functions take it."""
    equipment: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)       # name -> unit
    drivers: dict[str, str] = field(default_factory=dict)       # name -> unit
    seus: list[tuple[str, str]] = field(default_factory=list)   # (equipment, source)
    seu_drivers: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    meters: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (equipment, source)
    aliases: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)
    # the catalog's aliases: {lang: {kind: {name: [aliases]}}} (catalog.alias_table)

    def aliases_for(self, lang: str) -> dict[str, list[str]]:
        """{canonical name: [aliases]} of every kind in the language of ``lang``:
        'de-de' and 'de-at' both take the aliases stored under any 'de' tag."""
        primary = _num2words_lang(lang)
        out: dict[str, list[str]] = {}
        for tag, kinds in self.aliases.items():
            if _num2words_lang(tag) != primary:
                continue
            for names in kinds.values():
                for name, spoken in names.items():
                    out.setdefault(name, []).extend(spoken)
        return out

    def driver_candidates(self, aliases: Mapping[str, Iterable[str]] | None = None,
                          lang: str = "en") -> dict[str, list[str]]:
        """Drivers with their unit-less forms and ``aliases`` (for ``resolve``)."""
        return {d: spoken_forms(d, unit, lang) + list((aliases or {}).get(d, ()))
                for d, unit in self.drivers.items()}


def catalog_names(store) -> CatalogNames:
    """Read the names the voice resolves against from a store's catalog, with
    the aliases of every language (``CatalogNames.aliases_for`` picks one)."""
    from . import catalog
    seus = catalog.list_entries(store, "seu")
    drivers = catalog.list_entries(store, "driver")
    return CatalogNames(
        equipment=[r["name"] for r in catalog.list_entries(store, "equipment")],
        sources={r["name"]: r["unit"] for r in catalog.list_entries(store, "energy source")},
        drivers={r["name"]: r["unit"] for r in drivers},
        seus=[(s["equipment"], s["source"]) for s in seus],
        seu_drivers={(s["equipment"], s["source"]): list(s["drivers"]) for s in seus},
        meters={r["name"]: (r["equipment"], r["source"])
                for r in catalog.list_entries(store, "meter")},
        aliases=catalog.alias_table(store),
    )
