"""Typed errors. Each one names the field or input at fault and never carries PHI."""

from __future__ import annotations


class MedcodeError(Exception):
    """Base class for every error medcode raises on purpose."""


class IngestError(MedcodeError):
    """Input could not be turned into an Encounter.

    Parameters
    ----------
    source_format : str
        ``text``, ``fhir``, ``hl7`` or ``ccda``.
    field : str
        The element, segment or field at fault (``DocumentReference.content``, ``PID-8``...).
    reason : str
        Why, in words a user can act on. Must not quote PHI.
    """

    def __init__(self, source_format: str, field: str, reason: str):
        self.source_format = source_format
        self.field = field
        self.reason = reason
        super().__init__(f"{source_format}: {field}: {reason}")


class CodeSetUnavailable(MedcodeError):
    """No shipped ICD-10-CM release covers the requested date of service."""


class ClaimBuildError(MedcodeError):
    """A claim could not be built; ``field`` names the missing or invalid element."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")
