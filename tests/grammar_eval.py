"""How well the skill understands utterances nobody tuned it on.

A case file is tab-separated: utterance, intent (or ``none`` for what must not
be understood), seu, energy_source, period_start, period_end (empty where the
utterance does not say one). Each utterance is put to the assistant in a
conversation of its own: a question it asks back is cancelled before the
next case, so one case never answers another's question.

Scores (``evaluate``):

- intent: share of cases whose intent is the labelled one (``none``: nothing
  matched); a question back counts for the intent that asked it;
- seu: of the cases that name an equipment and got the right intent, the
  share resolved to it, or asked about it ("Did you mean Boiler-1 or ...");
  a guess of another equipment counts as wrong; a question back that names
  no equipment ("For which period?") is not counted;
- period: of the cases that say a period and got the right intent and no
  question, the share with the labelled first and last day;
- rejected: of the ``none`` cases, the share not understood.

Run it on a file to see every miss::

    python tests/grammar_eval.py tests/data/utterances_dev_en.tsv
"""
from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
# The cases count relative periods from this day ("last month" = October 2025).
REFERENCE_DATE = "2025-11-05"
CANCEL = {"en-us": "cancel", "de-de": "abbrechen"}


@dataclass
class Case:
    utterance: str
    intent: str | None
    seu: str
    energy_source: str
    period: tuple[str, str] | None


def load_cases(path) -> list[Case]:
    cases = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            start, end = row.get("period_start") or "", row.get("period_end") or ""
            cases.append(Case(row["utterance"].strip(),
                              None if row["intent"].strip() == "none" else row["intent"].strip(),
                              (row.get("seu") or "").strip(),
                              (row.get("energy_source") or "").strip(),
                              (start, end) if start and end else None))
    return cases


def _mentions(answer: dict, equipment: str) -> bool:
    """The answer is about ``equipment``: its result names it, or failing
    that what was said (an answer, a refusal or a question about it)."""
    said = answer.get("seu") or ""
    if said:
        return said.split()[0] == equipment
    return re.search(rf"\b{re.escape(equipment)}\b", answer.get("speech") or "") is not None


def _same_period(got: dict, wanted: tuple[str, str]) -> bool:
    """Equal, or equal up to the reference day for a period running past it
    ("this year" answered to date)."""
    start, end = got.get("start"), got.get("end")
    return start == wanted[0] and (end == wanted[1] or
                                   (end == REFERENCE_DATE and wanted[1] > REFERENCE_DATE))


def evaluate(assistant, cases: list[Case]) -> dict:
    """Put every case to ``assistant`` (an ``engine.cli.chat.Conversation``);
    return the three scores and the misses."""
    hits = {"intent": [0, 0], "seu": [0, 0], "period": [0, 0], "rejected": [0, 0]}
    misses = []
    for case in cases:
        turn = assistant.ask(case.utterance)
        answer = turn.as_dict()
        if turn.question:
            assert not assistant.ask(CANCEL[assistant.lang]).question, "the question stays open"
        intent_ok = answer["intent"] == case.intent
        hits["intent"][0] += intent_ok
        hits["intent"][1] += 1
        problems = [] if intent_ok else [f"intent {answer['intent']}"]
        if case.intent is None:
            hits["rejected"][0] += intent_ok
            hits["rejected"][1] += 1
        if intent_ok and case.seu and (not turn.question or "-" in answer["speech"]):
            ok = _mentions(answer, case.seu)
            hits["seu"][0] += ok
            hits["seu"][1] += 1
            if not ok:
                problems.append(f"seu {answer.get('seu')}")
        if intent_ok and case.period and not turn.question:
            got = answer.get("period") or {}
            ok = _same_period(got, case.period)
            hits["period"][0] += ok
            hits["period"][1] += 1
            if not ok:
                problems.append(f"period {got.get('start')}..{got.get('end')}")
        if problems:
            misses.append((case, "; ".join(problems), answer["speech"]))
    scores = {name: (hit / total if total else 1.0) for name, (hit, total) in hits.items()}
    return {"scores": scores, "counts": hits, "misses": misses}


def language(path) -> str:
    """The language of a case file: ``*_de.tsv`` German, else English."""
    return "de-de" if Path(path).stem.endswith("_de") else "en-us"


def main(argv: list[str]) -> int:
    import os
    import tempfile
    from datetime import date
    from engine import Store, alerts
    from engine.demo import build_demo, train_demo_baselines
    from engine.cli.chat import Assistant, SKILL_ID
    folder = tempfile.mkdtemp(prefix="grammar-")
    os.environ["ENMS_DATA_DIR"] = folder
    os.environ["ENMS_DATABASE_URL"] = url = os.path.join(folder, "enms.sqlite")
    # The skill's settings file in a folder of this run's own (it is written
    # at shut-down; the user's must not get this run's reference date).
    os.environ["XDG_CONFIG_HOME"] = os.path.join(folder, "config")
    store = Store(url)
    build_demo(store)
    train_demo_baselines(store)
    alerts.evaluate(store, date(2025, 10, 1), date(2025, 10, 31), notifiers=[])
    try:
        for path in argv or [DATA / "utterances_dev_en.tsv"]:
            assistant = Assistant(lang=language(path))
            settings = assistant.croft.plugin_skills[SKILL_ID].instance.settings
            settings["reference_date"] = REFERENCE_DATE
            try:
                result = evaluate(assistant, load_cases(path))
            finally:
                assistant.close()
            for case, problem, speech in result["misses"]:
                print(f"{case.intent or 'none':17} {problem:40} | {case.utterance} | {speech[:90]}")
            print(path, {k: f"{v:.3f} ({result['counts'][k][0]}/{result['counts'][k][1]})"
                         for k, v in result["scores"].items()})
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
