"""Times in Alpaca's answers, read as alpaca-py's models read them: pydantic's datetime (`Z` and offsets,
nanoseconds cut to microseconds, a naive time left naive). One validator for both adapters that read
alpaca-py's raw answers (`alpaca.py`, `market_data.py`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import TypeAdapter

_DATETIME = TypeAdapter(datetime)


def alpaca_time(value: object) -> datetime:
    """Raises pydantic's ValidationError (a ValueError) for what is not a time."""
    return _DATETIME.validate_python(value)
