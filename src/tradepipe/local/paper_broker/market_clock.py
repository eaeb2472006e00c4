"""The answers to `GET /v2/clock` and `GET /v2/calendar`, and when an order may trade.

NYSE hours from the bundled calendar (`nyse_calendar`), or a market that never closes (`always_open`, the
demo's setting: a demo at night still fills). Times come from the broker's clock, so tests pin them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tradepipe.local.paper_broker import nyse_calendar as cal
from tradepipe.local.paper_broker.nyse_calendar import NEW_YORK


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MarketClock:
    always_open: bool = False
    now: Callable[[], datetime] = field(default=utc_now)

    def is_open(self, moment: datetime | None = None) -> bool:
        """The regular session (09:30-16:00 New York on trading days, 13:00 on early closes)."""
        if self.always_open:
            return True
        at = moment or self.now()
        today = cal.session(at.astimezone(NEW_YORK).date())
        return today is not None and today.open <= at < today.close

    def is_extended_open(self, moment: datetime | None = None) -> bool:
        """Pre-market, the regular session or after-hours: when an `extended_hours` limit order may trade."""
        if self.always_open:
            return True
        at = moment or self.now()
        today = cal.session(at.astimezone(NEW_YORK).date())
        return today is not None and today.extended_open <= at < today.extended_close

    def next_open(self, moment: datetime, extended: bool = False) -> datetime:
        """The first session open strictly after `moment` (the pre-market open when `extended`)."""
        for s in cal.sessions_from(moment.astimezone(NEW_YORK).date()):
            start = s.extended_open if extended else s.open
            if start > moment:
                return start
        raise RuntimeError(f"no NYSE session within ten days of {moment}")  # pragma: no cover

    def next_close(self, moment: datetime, extended: bool = False) -> datetime:
        """The first session close strictly after `moment` (the after-hours close when `extended`)."""
        for s in cal.sessions_from(moment.astimezone(NEW_YORK).date()):
            end = s.extended_close if extended else s.close
            if end > moment:
                return end
        raise RuntimeError(f"no NYSE session within ten days of {moment}")  # pragma: no cover

    def session_start(self, moment: datetime, extended: bool = False) -> datetime:
        """`moment` itself when the (extended) session is open then, else the next open."""
        is_open = self.is_extended_open(moment) if extended else self.is_open(moment)
        return moment if is_open else self.next_open(moment, extended)

    def trading_day(self, moment: datetime) -> date:
        return moment.astimezone(NEW_YORK).date()

    def snapshot(self) -> dict[str, Any]:
        moment = self.now()
        return {
            "timestamp": moment.astimezone(NEW_YORK).isoformat(),
            "is_open": self.is_open(moment),
            "next_open": self.next_open(moment).isoformat(),
            "next_close": self.next_close(moment).isoformat(),
        }

    def calendar(self, start: date | None, end: date | None) -> list[dict[str, str]]:
        """Trading days from start to end inclusive (default: today and the next 30 days)."""
        first = start or self.trading_day(self.now())
        last = end or first + timedelta(days=30)
        days: list[dict[str, str]] = []
        day = first
        while day <= last:
            s = cal.session(day)
            if s is not None:
                days.append(
                    {
                        "date": day.isoformat(),
                        "open": s.open.strftime("%H:%M"),
                        "close": s.close.strftime("%H:%M"),
                        "session_open": s.extended_open.strftime("%H%M"),
                        "session_close": s.extended_close.strftime("%H%M"),
                        "settlement_date": cal.next_trading_day(day).isoformat(),  # T+1
                    }
                )
            day += timedelta(days=1)
        return days
