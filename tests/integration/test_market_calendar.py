"""The market calendar through alpaca-py against the local paper broker (`GET /v2/calendar`, as Alpaca
answers it): New York wall-clock sessions localized, early closes as such, holidays absent; a broker that does
not answer is `BrokerUnavailable` (the silence check then waits for the next minute)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import BROKER_KEY, BROKER_SECRET
from tradepipe.adapters.alpaca_calendar import AlpacaCalendar
from tradepipe.local.http_server import free_port
from tradepipe.ports.broker import BrokerUnavailable

NY = ZoneInfo("America/New_York")


def test_sessions_around_independence_day_2024(running_broker: Any) -> None:
    calendar = AlpacaCalendar(BROKER_KEY, BROKER_SECRET, url_override=running_broker.url)

    sessions = calendar.sessions(date(2024, 7, 2), date(2024, 7, 5))

    assert [(s.open, s.close) for s in sessions] == [
        (datetime(2024, 7, 2, 9, 30, tzinfo=NY), datetime(2024, 7, 2, 16, 0, tzinfo=NY)),
        (datetime(2024, 7, 3, 9, 30, tzinfo=NY), datetime(2024, 7, 3, 13, 0, tzinfo=NY)),  # early close
        (datetime(2024, 7, 5, 9, 30, tzinfo=NY), datetime(2024, 7, 5, 16, 0, tzinfo=NY)),  # the 4th: closed
    ]


def test_broker_not_answering_then_unavailable() -> None:
    calendar = AlpacaCalendar(
        BROKER_KEY, BROKER_SECRET, url_override=f"http://127.0.0.1:{free_port()}", timeout_s=1.0
    )

    with pytest.raises(BrokerUnavailable):
        calendar.sessions(date(2024, 7, 2), date(2024, 7, 5))
