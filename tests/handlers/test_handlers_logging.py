"""The adapters' Logger keeps PHI out: note text, names, birth dates and member ids are masked."""

from __future__ import annotations

import io
import logging

from handlers.aws.observability import PHIRedactingFilter, make_logger, redact

NOTE = "Assessment: CANARYNOTE-7731 hypertension " + "word " * 80
PHI = {"patient_name": "CANARYNAME^ZQXJ", "birth_date": "1931-07-19", "member_id": "CANARYMBR987", "note": NOTE}


def test_powertools_logger_masks_phi_fields_and_patterns():
    out = io.StringIO()
    logger = make_logger("test")
    logger.registered_handler.stream = out  # type: ignore[attr-defined]
    logger.info("patient CANARYNAME^ZQXJ born 19310719 member CANARYMBR987 coded",
                extra={**PHI, "encounter_id": "SYN-1", "patient": {"name": "X^Y", "dob": "1931-07-19"}})
    text = out.getvalue()
    for secret in ("CANARYNAME", "ZQXJ", "1931-07-19", "19310719", "CANARYMBR987", "CANARYNOTE"):
        assert secret not in text, secret
    assert "SYN-1" in text and "coded" in text


def test_plain_logging_filter_masks_phi():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(PHIRedactingFilter())
    log = logging.getLogger("medcode.test.phi")
    log.addHandler(handler)
    log.propagate = False
    log.warning("member %s note %s", "CANARYMBR987", NOTE, extra={"birth_date": "1931-07-19"})
    assert "CANARYMBR987" not in out.getvalue() and "CANARYNOTE" not in out.getvalue()


def test_redact_nested():
    assert redact({"encounter": {"patient": {"name": "A^B"}, "encounter_id": "E1"}}) == \
        {"encounter": {"patient": "***", "encounter_id": "E1"}}
