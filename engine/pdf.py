"""Documents (``engine.document``) as PDF files, with reportlab.

Why reportlab: it is the long-maintained (since 2000, releases through 2026)
pure-Python PDF toolkit with a layout engine (platypus) that flows
paragraphs, tables that split across pages with repeated headers, images and
a two-pass table of contents with page numbers; it embeds PNG charts as they
are and needs no browser or system library. fpdf2 lacks the table-of-contents
pass with true page numbers; weasyprint needs Pango and HTML/CSS rendering,
too heavy for a plant's small server.

A4 pages, a running footer with the document title and the page number,
table headers repeated on every page a table spans, and the headings as PDF
bookmarks.
"""
from pathlib import Path
from xml.sax.saxutils import escape

from .document import Document, Figure, Heading, PageBreak, Quote, Signatures, Table, Text
from .errors import EnmsError

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
MARGIN_MM = 18


def _reportlab():
    try:
        import reportlab  # noqa: F401
    except ImportError:  # the reports extra is not installed
        raise EnmsError("PDF output needs reportlab: pip install 'enms[reports]'") from None


def _styles():
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("t", parent=base["Title"], fontName=FONT_BOLD, fontSize=17),
        "subtitle": ParagraphStyle("st", parent=base["Normal"], fontSize=10, spaceAfter=8),
        # Headings stay on the page of what follows them.
        1: ParagraphStyle("h1", parent=base["Heading1"], fontName=FONT_BOLD, fontSize=14,
                          keepWithNext=1),
        2: ParagraphStyle("h2", parent=base["Heading2"], fontName=FONT_BOLD, fontSize=11.5,
                          keepWithNext=1),
        3: ParagraphStyle("h3", parent=base["Heading3"], fontName=FONT_BOLD, fontSize=10,
                          keepWithNext=1),
        "text": ParagraphStyle("p", parent=base["Normal"], fontName=FONT, fontSize=9,
                               leading=11.5, spaceAfter=5),
        "quote": ParagraphStyle("q", parent=base["Normal"], fontName=FONT, fontSize=9,
                                leading=11.5, spaceAfter=6, leftIndent=14, borderPadding=4,
                                borderColor="#999999", borderWidth=0.5),
        "cell": ParagraphStyle("c", parent=base["Normal"], fontName=FONT, fontSize=7.5,
                               leading=9),
        "head": ParagraphStyle("hc", parent=base["Normal"], fontName=FONT_BOLD, fontSize=7.5,
                               leading=9),
        "caption": ParagraphStyle("cap", parent=base["Normal"], fontName=FONT, fontSize=8,
                                  leading=10, spaceAfter=8, textColor="#333333"),
        "toc1": ParagraphStyle("toc1", fontName=FONT, fontSize=10, leftIndent=10,
                               firstLineIndent=-10, leading=14),
        "toc2": ParagraphStyle("toc2", fontName=FONT, fontSize=8.5, leftIndent=24,
                               firstLineIndent=-10, leading=11),
    }


def _paragraph(text: str, style):
    from reportlab.platypus import Paragraph
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _table(block: Table, styles, width: float):
    from reportlab.lib import colors
    from reportlab.platypus import Table as RLTable, TableStyle
    weights = block.widths or (1,) * len(block.header)
    widths = [width * w / sum(weights) for w in weights]
    data = [[_paragraph(h, styles["head"]) for h in block.header]]
    data += [[_paragraph(c, styles["cell"]) for c in row] for row in block.rows]
    table = RLTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]))
    return table


def _image(path: Path, width: float, max_height: float):
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image
    w, h = ImageReader(str(path)).getSize()
    scale = min(width / w, max_height / h)
    return Image(str(path), width=w * scale, height=h * scale)


def _signatures(block: Signatures, styles, width: float):
    from reportlab.platypus import Table as RLTable, TableStyle
    rows = [[_paragraph(role, styles["head"]), _paragraph("Name", styles["cell"]),
             _paragraph("Signature", styles["cell"]), _paragraph("Date", styles["cell"])]
            for role in block.roles]
    table = RLTable(rows, colWidths=[width * 0.31, width * 0.25, width * 0.27, width * 0.17],
                    rowHeights=[20] * len(rows), hAlign="LEFT")
    table.setStyle(TableStyle([
        ("LINEBELOW", (1, 0), (-1, -1), 0.6, "black"), ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("FONTSIZE", (0, 0), (-1, -1), 7.5)]))
    return table


def write(document: Document, path, toc: bool = False) -> Path:
    """Render ``document`` to the PDF file ``path``; with ``toc`` a table of
    contents of the level-1 and level-2 headings follows the title."""
    _reportlab()
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, PageBreak as RLPageBreak, Paragraph, \
        SimpleDocTemplate, Spacer
    from reportlab.platypus.tableofcontents import TableOfContents

    from reportlab import rl_config
    # Images as binary (deflated) streams, not ASCII85 text: a quarter smaller
    # and much faster to write (the ASCII85 encoder is pure Python here).
    rl_config.useA85 = 0
    path = Path(path)
    if not path.parent.is_dir():
        raise EnmsError(f"{path}: the folder {path.parent} does not exist")
    styles = _styles()

    class Template(SimpleDocTemplate):
        def afterFlowable(self, flowable):
            # Headings report their page to the table of contents (second pass).
            level = getattr(flowable, "toc_level", None)
            if level is not None:
                key = f"h{id(flowable)}"
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level - 1,
                                          closed=level > 1)
                self.notify("TOCEntry", (level - 1, flowable.getPlainText(), self.page, key))

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.drawString(MARGIN_MM * mm, 10 * mm, document.title)
        canvas.drawRightString(A4[0] - MARGIN_MM * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = Template(str(path), pagesize=A4, leftMargin=MARGIN_MM * mm,
                   rightMargin=MARGIN_MM * mm, topMargin=MARGIN_MM * mm,
                   bottomMargin=MARGIN_MM * mm, title=document.title, author="enms")
    width, height = doc.width, doc.height
    story = [_paragraph(document.title, styles["title"])]
    if document.subtitle:
        story.append(_paragraph(document.subtitle, styles["subtitle"]))
    if toc:
        contents = TableOfContents()
        contents.levelStyles = [styles["toc1"], styles["toc2"]]
        story += [_paragraph("Contents", styles[1]), contents, RLPageBreak()]
    for block in document.blocks:
        if isinstance(block, Heading):
            level = min(block.level, 3)
            heading = Paragraph(escape(block.text), styles[level])
            if level <= 2:
                heading.toc_level = level
            story.append(heading)
        elif isinstance(block, Text):
            story.append(_paragraph(block.text, styles["text"]))
        elif isinstance(block, Quote):
            story.append(_paragraph(block.text.strip(), styles["quote"]))
        elif isinstance(block, Table):
            story += [_table(block, styles, width), Spacer(1, 6)]
        elif isinstance(block, Figure):
            story += [_image(Path(block.path), width, height * 0.32),
                      _paragraph(block.caption, styles["caption"])]
        elif isinstance(block, Signatures):
            # Signature lines never split from each other across a page break.
            story.append(KeepTogether([Spacer(1, 8), _signatures(block, styles, width)]))
        elif isinstance(block, PageBreak):
            story.append(RLPageBreak())
    if toc:
        doc.multiBuild(story, onFirstPage=footer, onLaterPages=footer)
    else:
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return path
