"""Read any X12 interchange into segments, and write segments back, with the ISA's own delimiters.

The ISA segment is fixed-width: the element separator is its 4th character, the repetition
separator ISA11 (character 83), the component separator ISA16 (character 105) and the segment
terminator the character right after it. Line breaks around segments are ignored on reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["X12Delimiters", "envelope", "read_segments", "render_segments", "transaction_set"]


@dataclass(frozen=True)
class X12Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


def read_segments(text: str) -> tuple[X12Delimiters, list[list[str]]]:
    """Split an interchange into segments, each a list of elements (``[segment id, e01, e02...]``).

    Raises
    ------
    ValueError
        When the text does not start with a complete ISA segment.
    """
    text = text.lstrip()
    if not text.startswith("ISA") or len(text) < 106:
        raise ValueError("not an X12 interchange: it does not start with a complete ISA segment")
    delimiters = X12Delimiters(element=text[3], component=text[104], repetition=text[82], segment=text[105])
    segments = []
    for raw in text.split(delimiters.segment):
        raw = raw.strip("\r\n\t ")
        if raw:
            segments.append(raw.split(delimiters.element))
    return delimiters, segments


def render_segments(segments: list[list[str]], delimiters: X12Delimiters = X12Delimiters()) -> str:
    """Segments as X12 text, one per line; trailing empty elements are dropped (except in ISA)."""
    lines = []
    for seg in segments:
        elements = list(seg)
        if elements[0] != "ISA":
            while len(elements) > 1 and elements[-1] == "":
                elements.pop()
        lines.append(delimiters.element.join(elements) + delimiters.segment)
    return "\n".join(lines) + "\n"


def envelope(
    transactions: list[list[list[str]]],
    *,
    sender_id: str,
    receiver_id: str,
    functional_id: str,
    version: str,
    control_number: int,
    created: datetime,
    usage_indicator: str = "T",
    delimiters: X12Delimiters = X12Delimiters(),
) -> str:
    """Wrap transaction sets (each ST...SE, SE01 already counted) in one GS/GE and ISA/IEA.

    Parameters
    ----------
    functional_id : str
        GS01: ``HP`` for an 835, ``HN`` for a 277, ``FA`` for a 999.
    version : str
        GS08, for example ``005010X221A1``.
    """
    control = f"{control_number % 1_000_000_000:09d}"
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10,
        "ZZ", sender_id[:15].ljust(15), "ZZ", receiver_id[:15].ljust(15),
        created.strftime("%y%m%d"), created.strftime("%H%M"), delimiters.repetition, "00501",
        control, "0", usage_indicator, delimiters.component,
    ]
    gs = ["GS", functional_id, sender_id[:15], receiver_id[:15], created.strftime("%Y%m%d"),
          created.strftime("%H%M"), str(control_number % 1_000_000_000), "X", version]
    body = [seg for transaction in transactions for seg in transaction]
    segments = [isa, gs, *body, ["GE", str(len(transactions)), gs[6]], ["IEA", "1", control]]
    return render_segments(segments, delimiters)


def transaction_set(st: list[str], body: list[list[str]]) -> list[list[str]]:
    """``ST`` + body + an ``SE`` whose count includes ST and SE."""
    return [st, *body, ["SE", str(len(body) + 2), st[2]]]
