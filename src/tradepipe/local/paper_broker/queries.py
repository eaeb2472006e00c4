"""The read side of the Trading and market-data APIs: order lists, fill activities and bars, with Alpaca's
filters, defaults and paging. Functions over the engine's state; the facade holds the lock."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tradepipe.local.paper_broker.core import BrokerCore
from tradepipe.local.paper_broker.errors import invalid
from tradepipe.local.paper_broker.market_data import DailyBar
from tradepipe.local.paper_broker.render import NEW_YORK, Json, bar_json, bar_time, fill_json, order_json
from tradepipe.local.paper_broker.state import Order, Side
from tradepipe.local.paper_broker.synthetic_bars import SESSION_MINUTES, intraday_bars, intraday_json

ORDERS_LIMIT_DEFAULT, ORDERS_LIMIT_MAX = 50, 500
ACTIVITIES_PAGE_DEFAULT, ACTIVITIES_PAGE_MAX = 100, 100
BARS_LIMIT_DEFAULT, BARS_LIMIT_MAX = 1000, 10_000


@dataclass(frozen=True)
class OrderQuery:
    """`GET /v2/orders` filters, with Alpaca's defaults."""

    status: str = "open"  # open | closed | all
    limit: int = ORDERS_LIMIT_DEFAULT
    after: datetime | None = None
    until: datetime | None = None
    direction: str = "desc"
    nested: bool = False
    side: Side | None = None
    symbols: frozenset[str] | None = None


@dataclass(frozen=True)
class BarsQuery:
    symbols: tuple[str, ...]
    start: datetime | None = None
    end: datetime | None = None
    limit: int = BARS_LIMIT_DEFAULT
    page_token: str | None = None
    descending: bool = False
    minutes: int | None = None  # intraday bars of this length, derived from the daily ones (synthetic)


def list_orders(core: BrokerCore, query: OrderQuery) -> list[Json]:
    orders = core.state.orders
    selected = [o for o in sorted(orders.values(), key=lambda o: o.seq) if _wanted(core, o, query)]
    if query.direction == "desc":
        selected.reverse()
    return [order_json(o, orders, query.nested) for o in selected[: query.limit]]


def _wanted(core: BrokerCore, order: Order, query: OrderQuery) -> bool:
    orders = core.state.orders
    if query.nested and order.parent_id is not None:
        return False  # shown inside its entry
    family = [order, *(orders[i] for i in order.leg_ids)] if query.nested else [order]
    if query.status == "open" and not any(o.is_open for o in family):
        return False
    if query.status == "closed" and any(o.is_open for o in family):
        return False
    if query.symbols is not None and order.symbol not in query.symbols:
        return False
    if query.side is not None and order.side is not query.side:
        return False
    if query.after is not None and order.submitted_at <= query.after:
        return False
    return query.until is None or order.submitted_at <= query.until


def fill_activities(
    core: BrokerCore,
    *,
    after: datetime | None = None,
    until: datetime | None = None,
    direction: str = "desc",
    page_size: int = ACTIVITIES_PAGE_DEFAULT,
    page_token: str | None = None,
) -> list[Json]:
    """FILL activities in the order of their ids (`<transaction time>::<uuid>`, so time order), newest first
    by default. `page_token` is an activity id and a position, as Alpaca's account-activities docs define it:
    ascending, the page begins with the activity immediately after it; descending, it ends before it. The id
    need not be among the activities the other filters select (a cursor kept from an earlier call)."""
    state = core.state
    fills = sorted(
        (
            f
            for f in state.fills
            if (after is None or f.transaction_time > after)
            and (until is None or f.transaction_time <= until)
        ),
        key=lambda f: f.id,
        reverse=direction == "desc",
    )
    if page_token is not None:
        fills = [f for f in fills if (f.id > page_token if direction != "desc" else f.id < page_token)]
    size = max(1, min(page_size, ACTIVITIES_PAGE_MAX))
    return [fill_json(f, state.account.id) for f in fills[:size]]


def bars(core: BrokerCore, query: BarsQuery) -> Json:
    """`GET /v2/stocks/bars`: daily bars up to the cursor, symbol by symbol, paged across all symbols."""
    feed = core.feed
    start = None if query.start is None else _first_bar_day(query.start)
    end = None if query.end is None else query.end.astimezone(NEW_YORK).date()
    rows: list[tuple[str, Json]] = []
    for symbol in sorted(set(query.symbols)):
        if not feed.has(symbol):
            continue  # Alpaca leaves unknown symbols out of the answer
        if query.minutes is None:
            found = [bar_json(b) for b in feed.bars(symbol, start, end)]
        else:
            first_day = None if query.start is None else query.start.astimezone(NEW_YORK).date()
            found = _intraday(symbol, feed.bars(symbol, first_day, end), query)
        rows.extend((symbol, b) for b in (reversed(found) if query.descending else found))
    offset = _decode_page_token(query.page_token)
    limit = max(1, min(query.limit, BARS_LIMIT_MAX))
    out: dict[str, list[Json]] = {}
    for symbol, bar in rows[offset : offset + limit]:
        out.setdefault(symbol, []).append(bar)
    more = offset + limit < len(rows)
    answer: Json = {"bars": out, "next_page_token": _encode_page_token(offset + limit) if more else None}
    if query.minutes is not None:
        answer["synthetic"] = True  # derived from daily bars (synthetic_bars.py): alpaca-py ignores the key
    return answer


def _intraday(symbol: str, days: list[DailyBar], query: BarsQuery) -> list[Json]:
    """Each day's synthetic session bars inside [start, end]. Derived only for the days a request can reach:
    with a descending limit, the newest days."""
    assert query.minutes is not None  # noqa: S101 - the caller checked
    per_day = -(-SESSION_MINUTES // query.minutes)
    needed = -(-(max(1, query.limit) + _decode_page_token(query.page_token)) // per_day) + 1
    chosen = days[-needed:] if query.descending else days
    out: list[Json] = []
    for day in chosen:
        for bar in intraday_bars(symbol, day, query.minutes):
            if (query.start is None or bar.t >= query.start) and (query.end is None or bar.t <= query.end):
                out.append(intraday_json(bar))
    return out


def _first_bar_day(start: datetime) -> date:
    """The first day whose bar timestamp (midnight New York) is at or after `start`."""
    day = start.astimezone(NEW_YORK).date()
    return day if bar_time(day) >= start else day + timedelta(days=1)


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(token.encode()).decode()))
    except ValueError:
        raise invalid("invalid page_token") from None
