"""Clearinghouse errors. Messages name the request and status, never claim content."""

from __future__ import annotations

from medcore.errors import MedcodeError

__all__ = ["ClearinghouseAuthError", "ClearinghouseError", "ClearinghouseRequestError", "ClearinghouseUnavailable"]


class ClearinghouseError(MedcodeError):
    """Base class for clearinghouse failures."""


class ClearinghouseUnavailable(ClearinghouseError):
    """Every attempt failed with a timeout, a connection error, 429 or a 5xx.

    Attributes
    ----------
    attempts : int
        How many requests were made.
    last_status : int or None
        The last HTTP status seen (None when no response came back).
    """

    def __init__(self, what: str, attempts: int, last_status: int | None, last_error: str):
        self.attempts = attempts
        self.last_status = last_status
        super().__init__(f"{what}: clearinghouse unavailable after {attempts} attempt(s); last error: {last_error}")


class ClearinghouseRequestError(ClearinghouseError):
    """The clearinghouse refused the request (a 4xx other than 408/429); retrying will not help."""

    def __init__(self, what: str, status: int, error: str):
        self.status = status
        self.error = error
        super().__init__(f"{what}: HTTP {status}: {error}")


class ClearinghouseAuthError(ClearinghouseRequestError):
    """401 or 403: the token or API key is missing, unknown or not allowed."""
