"""A printed document as plain blocks, written once and rendered twice: to
Markdown here and to PDF by ``engine.pdf``, so the audit package's PDF and
its Markdown say the same thing.

Blocks: ``Heading`` (level 1 starts a section of the table of contents),
``Text`` (a paragraph), ``Quote`` (text written by the plant, such as its
energy policy, kept line by line and set apart), ``Table`` (header and rows of cells, already
formatted as text), ``Figure`` (an image file and its caption),
``Signatures`` (lines to sign) and ``PageBreak``.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

MISSING = "n/a"   # shown for a value that is missing; never 0


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Quote:
    text: str


@dataclass(frozen=True)
class Table:
    header: tuple
    rows: tuple
    widths: tuple | None = None   # relative column widths, for the PDF


@dataclass(frozen=True)
class Figure:
    path: Path
    caption: str


@dataclass(frozen=True)
class Signatures:
    roles: tuple   # e.g. ("Prepared by (energy engineer)", "Reviewed by (auditor)")


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass
class Document:
    title: str
    subtitle: str = ""
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> "Document":
        self.blocks.extend(blocks)
        return self


def number(value, digits: int = 0, unit: str = "") -> str:
    """A figure as text with thousands separators; None (missing) as 'n/a'."""
    if value is None:
        return MISSING
    text = f"{value:,.{digits}f}"
    if text in ("-0", "-0." + "0" * digits):
        text = text[1:]
    return f"{text} {unit}".rstrip()


def percent(share, digits: int = 1) -> str:
    """A share [0..1] as a percentage; None as 'n/a'."""
    return MISSING if share is None else f"{100 * share:.{digits}f} %"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def _anchor(text: str) -> str:
    """The anchor common Markdown renderers give a heading."""
    kept = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def to_markdown(document: Document, relative_to: Path | None = None, toc: bool = False) -> str:
    """The document as Markdown; figure paths relative to ``relative_to``;
    with ``toc`` a list of the level-1 headings after the title."""
    out = [f"# {document.title}", ""]
    if document.subtitle:
        out += [document.subtitle, ""]
    if toc:
        out += ["## Contents", ""]
        out += [f"{i}. [{b.text}](#{_anchor(b.text)})" for i, b in enumerate(
            (b for b in document.blocks if isinstance(b, Heading) and b.level == 1), 1)]
        out.append("")
    for block in document.blocks:
        if isinstance(block, Heading):
            out += ["#" * (block.level + 1) + " " + block.text, ""]
        elif isinstance(block, Text):
            out += [block.text, ""]
        elif isinstance(block, Quote):
            # A blockquote: the plant's own headings stay inside it.
            out += [f"> {line}".rstrip() for line in block.text.strip().splitlines()] + [""]
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
            out.append("|" + "---|" * len(block.header))
            out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
            out.append("")
        elif isinstance(block, Figure):
            path = Path(block.path)
            shown = os.path.relpath(path, relative_to) if relative_to else str(path)
            out += [f"![{block.caption}]({Path(shown).as_posix()})", "", f"*{block.caption}*", ""]
        elif isinstance(block, Signatures):
            out += [f"{role}: name ____________________  signature ____________________  "
                    "date __________" for role in block.roles]
            out.append("")
    return "\n".join(out).rstrip() + "\n"
