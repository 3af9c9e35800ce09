"""Markup to plain text: HTML and RTF attachments become the note text that evidence offsets index into.

Both converters keep the document's line structure (a block element or an RTF paragraph ends a line)
and drop everything that is layout only. They raise ``ValueError`` on input they cannot read; callers
turn that into an ``IngestError`` naming the attachment.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"head", "script", "style", "template", "noscript", "object", "svg"})
_CELL_TAGS = frozenset({"td", "th"})
_WS = re.compile(r"[ \t\r\n\f\v]+")


def tidy_lines(text: str) -> str:
    """Trim line ends and runs of blank lines; the result is what gets stored, so offsets stay exact."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip("\n")


class LineBuilder:
    """Collects text runs and line breaks; table cells are joined with `` | ``, whitespace at line starts dropped."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.line_has_text = False
        self.pending_cell = False

    def text(self, s: str) -> None:
        if not s:
            return
        if self.pending_cell:
            if not s.strip(" "):
                return  # layout whitespace between table cells
            if self.line_has_text:
                self.parts[-1] = self.parts[-1].rstrip(" ")
                self.parts.append(" | ")
                s = s.lstrip(" ")
            self.pending_cell = False
        if not self.line_has_text or self.parts[-1].endswith(" "):
            s = s.lstrip(" ")
            if not s:
                return
        self.parts.append(s)
        self.line_has_text = True

    def end_line(self) -> None:
        if self.line_has_text:
            self.parts.append("\n")
        self.line_has_text = False
        self.pending_cell = False

    def hard_break(self) -> None:
        self.parts.append("\n")
        self.line_has_text = False
        self.pending_cell = False

    def cell(self) -> None:
        self.pending_cell = True

    def value(self) -> str:
        return tidy_lines("".join(self.parts))


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = LineBuilder()
        self.skip_depth = 0
        self.pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif self.skip_depth:
            return
        elif tag == "br":
            self.lines.hard_break()
        elif tag in _BLOCK_TAGS:
            self.lines.end_line()
            if tag == "pre":
                self.pre_depth += 1
            elif tag == "li":
                self.lines.text("- ")
        elif tag in _CELL_TAGS:
            self.lines.cell()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self.skip_depth:
            self.lines.hard_break()
        elif tag in _BLOCK_TAGS and not self.skip_depth:
            self.lines.end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif self.skip_depth:
            return
        elif tag in _BLOCK_TAGS:
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            self.lines.end_line()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            # Preformatted text keeps its own line breaks.
            for i, line in enumerate(data.replace("\r\n", "\n").split("\n")):
                if i:
                    self.lines.hard_break()
                self.lines.text(line)
        else:
            self.lines.text(_WS.sub(" ", data))


def html_to_text(html: str) -> str:
    """Strip HTML tags, keeping a line break for every block element and ``<br>``.

    Parameters
    ----------
    html : str
        An HTML document or fragment.

    Returns
    -------
    str
        The visible text; ``<head>``, scripts and styles are dropped, entities are decoded, table
        cells are joined with `` | `` and list items start with ``- ``.
    """
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.lines.value()


# Destinations whose content is never document text (tables of fonts, colours, metadata, pictures...).
_RTF_SKIP_DESTINATIONS = frozenset(
    {
        "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "headerl", "headerr",
        "headerf", "footer", "footerl", "footerr", "footerf", "listtable", "listoverridetable",
        "rsidtbl", "generator", "xmlnstbl", "themedata", "colorschememapping", "datastore",
        "latentstyles", "fldinst", "filetbl", "revtbl", "pgdsctbl", "mmathPr", "bkmkstart", "bkmkend",
        "userprops", "docvar", "fchars", "lchars", "pnseclvl", "xe", "tc", "objdata", "blipuid",
        "shpinst", "nonshppict", "atnid", "atnauthor", "annotation", "protusertbl", "wgrffmtfilter",
    }
)  # fmt: skip
_RTF_SYMBOL_WORDS = {
    "par": "\n", "line": "\n", "sect": "\n", "page": "\n", "row": "\n", "tab": "\t",
    "emdash": "\u2014", "endash": "\u2013", "emspace": " ", "enspace": " ", "qmspace": " ",
    "bullet": "\u2022", "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d",
}  # fmt: skip
_RTF_TOKEN = re.compile(
    r"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # control word with optional numeric parameter
    r"|\\'([0-9a-fA-F]{2})"  # hex-escaped byte in the document code page
    r"|\\([^a-zA-Z'])"  # control symbol
    r"|([{}])"
    r"|([^\\{}]+)",
    re.S,
)


class _RtfState:
    __slots__ = ("skip", "uc")

    def __init__(self, skip: bool = False, uc: int = 1):
        self.skip = skip
        self.uc = uc


def rtf_to_text(rtf: str) -> str:
    """Strip RTF control words and groups, keeping paragraph breaks.

    Parameters
    ----------
    rtf : str
        A complete RTF document (``{\\rtf1 ...}``). Bytes above 0x7F should already be decoded as
        Latin-1 so that ``\\'hh`` and raw bytes keep their values; the ``\\ansicpg`` code page is honoured.

    Returns
    -------
    str
        The document text; ``\\par``/``\\line``/``\\row`` end a line, table cells are joined with
        `` | ``, ``\\uN`` and ``\\'hh`` escapes are decoded, and font/colour/style tables, pictures,
        headers, footers and field instructions are dropped.

    Raises
    ------
    ValueError
        When the input is not RTF or its braces do not balance.
    """
    if not rtf.lstrip().startswith("{\\rtf"):
        raise ValueError("does not start with {\\rtf")
    lines = LineBuilder()
    stack: list[_RtfState] = []
    state = _RtfState()
    codepage = "cp1252"
    pending_bytes = bytearray()
    skip_chars = 0  # fallback characters still to drop after a \uN escape
    group_start = False  # the previous token opened a group, so a destination word may follow

    def flush_bytes() -> None:
        if pending_bytes:
            lines.text(pending_bytes.decode(codepage, errors="replace"))
            pending_bytes.clear()

    def emit(s: str) -> None:
        flush_bytes()
        if "\n" in s:
            for i, piece in enumerate(s.split("\n")):
                if i:
                    lines.hard_break()
                lines.text(piece)
        else:
            lines.text(s)

    for m in _RTF_TOKEN.finditer(rtf):
        word, param, hexbyte, symbol, brace, text = m.groups()
        opened = False
        if brace == "{":
            flush_bytes()
            stack.append(state)
            state = _RtfState(state.skip, state.uc)
            opened = True
            skip_chars = 0
        elif brace == "}":
            flush_bytes()
            if not stack:
                raise ValueError("unbalanced closing brace")
            state = stack.pop()
            skip_chars = 0
        elif word is not None:
            if word in _RTF_SKIP_DESTINATIONS and group_start:
                state.skip = True
            elif word == "uc" and param is not None:
                state.uc = max(0, int(param))
            elif word == "ansicpg" and param is not None:
                codepage = _codepage(param, codepage)
            elif word == "bin" and param is not None:
                pass  # \binN payloads are inside pictures/objects, which are skipped
            elif state.skip:
                pass
            elif word == "u" and param is not None:
                cp = int(param)
                emit(chr(cp + 65536 if cp < 0 else cp) if -65536 < cp < 0x110000 else "\ufffd")
                skip_chars = state.uc
            elif word == "cell" or word == "nestcell":
                flush_bytes()
                lines.cell()
            elif word in _RTF_SYMBOL_WORDS:
                emit(_RTF_SYMBOL_WORDS[word])
            # any other control word is formatting only
        elif symbol is not None:
            if symbol == "*" and group_start:
                state.skip = True  # an ignorable destination: skip it unless we know it
                opened = True  # the destination word that follows still counts as group start
            elif state.skip:
                pass
            elif skip_chars:
                skip_chars -= 1
            elif symbol in "\\{}":
                emit(symbol)
            elif symbol == "~":
                emit(" ")
            elif symbol == "_":
                emit("-")
            elif symbol in "\r\n":
                emit("\n")  # a backslash before a line break is a paragraph break
            # \- optional hyphen, \: index subentry and others print nothing
        elif hexbyte is not None:
            if state.skip:
                pass
            elif skip_chars:
                skip_chars -= 1
            else:
                pending_bytes.append(int(hexbyte, 16))
        elif text is not None and not state.skip:
            # Raw line breaks in RTF source are not text.
            text = text.replace("\r", "").replace("\n", "")
            if skip_chars and text:
                dropped = min(skip_chars, len(text))
                text = text[dropped:]
                skip_chars -= dropped
            if text:
                emit(text)
        group_start = opened
    flush_bytes()
    if stack:
        raise ValueError("unbalanced opening brace (truncated document?)")
    return lines.value()


def _codepage(param: str, current: str) -> str:
    name = f"cp{int(param)}"
    try:
        "".encode(name)
    except LookupError:
        return current
    return name
