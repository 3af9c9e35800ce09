"""Validate an 837P interchange with pyx12 against the 005010X222A1 map, plus the NPI check digit.

pyx12 checks syntax, loop structure, required segments and elements, code values and the trailer
counts; it does not check NPI check digits, so that is done here for every ``NM1`` whose NM108 is
``XX``. Messages name the line, segment and element. pyx12's own wording often quotes the offending
segment or value, so treat the messages as PHI: show them to the user, never log them.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from claims.npi import is_valid_npi

__all__ = ["ValidationResult", "validate_837p"]


class ValidationResult(BaseModel):
    """The outcome of :func:`validate_837p`."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    errors: list[str] = Field(default_factory=list)
    ack_999: str = Field(default="", description="The 999 acknowledgment pyx12 wrote, when it got that far.")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def validate_837p(text: str) -> ValidationResult:
    """Validate an 837P 005010X222A1 interchange.

    Parameters
    ----------
    text : str
        The X12 text, starting with ``ISA``.

    Returns
    -------
    ValidationResult
        ``valid`` is true only when pyx12 accepts the interchange and every billing, rendering or
        other ``XX``-qualified NPI passes its check digit; ``errors`` lists one message per problem.
    """
    errors: list[str] = []
    ack = ""
    if not text.lstrip().startswith("ISA"):
        return ValidationResult(valid=False, errors=["not an X12 interchange: it does not start with ISA"])

    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    fd_999, fd_json = io.StringIO(), io.StringIO()
    logger = logging.getLogger("pyx12")
    collect = _Collect()
    # Our handler also keeps pyx12's per-error log lines off stderr while it runs.
    logger.addHandler(collect)
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.ParamsBase(), io.StringIO(text.lstrip()), fd_999, None, None, fd_json)
    except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:
        ok = False
        errors.append(f"pyx12 could not read the interchange: {type(exc).__name__}: {exc}")
    finally:
        logger.removeHandler(collect)
    if fd_json.getvalue():
        errors.extend(_json_errors(json.loads(fd_json.getvalue())))
    ack = fd_999.getvalue()
    if not ok and not errors:
        errors.extend(collect.messages or ["pyx12 rejected the interchange without naming an error"])
    errors.extend(_npi_errors(text))
    return ValidationResult(valid=ok and not errors, errors=errors, ack_999=ack)


def _json_errors(doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for isa in doc.get("interchanges", []):
        out.extend(f"ISA (line {isa.get('cur_line')}): {e['err_cde']} {e['err_str']}" for e in isa.get("errors", []))
        for gs in isa.get("groups", []):
            out.extend(f"GS {gs.get('gs_control_num')}: {e['err_cde']} {e['err_str']}" for e in gs.get("errors", []))
            for st in gs.get("transactions", []):
                control = st.get("trn_set_control_num")
                out.extend(f"ST {control}: {e['err_cde']} {e['err_str']}" for e in st.get("errors", []))
                for seg in st.get("segments", []):
                    where = f"ST {control} line {seg.get('cur_line')} {seg.get('seg_id')}"
                    if seg.get("name"):
                        where += f" ({seg['name']})"
                    out.extend(f"{where}: {e['err_cde']} {e['err_str']}" for e in seg.get("errors", []))
                    for ele in seg.get("elements", []):
                        ref = f"{seg.get('seg_id')}{int(ele.get('ele_pos') or 0):02d}"
                        if ele.get("subele_pos"):
                            ref += f"-{ele['subele_pos']}"
                        out.extend(f"{where} {ref}: {e['err_cde']} {e['err_str']}" for e in ele.get("errors", []))
    return out


def _npi_errors(text: str) -> list[str]:
    """NPI check digits pyx12 does not verify; delimiters are read from the ISA as the guide defines."""
    head = text.lstrip()
    if len(head) < 106:
        return []
    element, terminator = head[3], head[105]
    out: list[str] = []
    for line_no, raw in enumerate(s.strip() for s in head.split(terminator)):
        fields = raw.split(element)
        if fields[0] == "NM1" and len(fields) > 9 and fields[8] == "XX" and not is_valid_npi(fields[9]):
            out.append(f"segment {line_no + 1} NM1*{fields[1]} NM109: the NPI fails its check digit (Luhn, prefix 80840)")
    return out
