"""Domain errors.

Every exception here carries a message that is safe to show to a user: it says
what was wrong and what is expected, and never contains secrets, SQL or a
traceback.  ``web/errors.py`` maps each class to an HTTP status once.
"""

from __future__ import annotations


class GeoError(Exception):
    """Base for domain errors; ``str(err)`` is safe to show to users."""


class InvalidInput(GeoError, ValueError):
    """A parameter or field has a value that is not allowed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidLocation(InvalidInput):
    """A coordinate is missing, not a number, or outside its range."""


class CRSMismatch(GeoError, ValueError):
    """Two inputs that must share a coordinate reference system do not."""


class LedgerError(GeoError, ValueError):
    """A ledger file cannot be read at all (format, encoding, size)."""


class PlaceNotFound(GeoError, LookupError):
    """No place has the requested id."""


class ServiceUnavailable(GeoError, RuntimeError):
    """A backing service (the database) cannot be reached right now."""


class StatementTimeout(GeoError, RuntimeError):
    """The database cancelled a statement that ran past its time limit; nothing was written."""


class HouseholdNotFound(GeoError, LookupError):
    """No household with the requested id is visible to the caller.

    Raised alike for "does not exist" and "outside your districts", so the
    answer never tells a caseworker that a household exists elsewhere.
    """
