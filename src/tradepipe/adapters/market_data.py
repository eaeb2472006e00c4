"""Daily bars from Alpaca's market-data API through alpaca-py's StockHistoricalDataClient.

Which bars: the request asks for the newest `limit` bars (`sort=desc`, `limit`), between a fixed early
`start` and now, and reverses them to oldest first. An explicit `start` is required: Alpaca's default is the
beginning of today, which holds no completed daily bar. A start derived from the wall clock ("limit x 2
calendar days ago") would be right for Alpaca but empty against the local paper broker, whose "today" is its
data cursor (2013-03-01) and which never serves bars after it; newest-first with a far start is right for
both, in one request, with no clock. The bars carry their dates, so a caller that needs fresh data checks
`t` (a symbol delisted years ago still has its last bars).

The client runs in alpaca-py's `raw_data` mode (it sends the requests, and answers the API's JSON): the latest
quote, read before every entry, is read here from the JSON as alpaca-py's `Quote` reads it; bars go through
alpaca-py's `BarSet`, built from the JSON as alpaca-py builds it.

Bars are split-adjusted (`adjustment=split`), so a split inside the window does not read as a huge true
range and the levels match today's prices. During a session Alpaca's newest daily bar is today's, still
forming; its close is the latest trade.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.models import Bar, BarSet
from alpaca.data.requests import StockBarsRequest, StockLatestQuoteRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from tradepipe.adapters.alpaca_times import alpaca_time
from tradepipe.adapters.http import TimeoutSession
from tradepipe.domain.risk.bars import data_timeframe
from tradepipe.ports.market_data import DailyBar
from tradepipe.ports.quotes import QuoteView

# Before any bar either source holds (Alpaca's history starts in 2015, the bundled sample in 2000-03).
HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)
# Alpaca answers 400 for a malformed symbol ("invalid symbol") and 404 for routes it does not know; both
# mean "no data for this symbol". Anything else (401, 403 subscription, 5xx) is a fault and raises.
_NO_DATA_STATUSES = frozenset({400, 404})


def _decimal(value: float) -> Decimal:
    # str() of a float is its shortest round-trip form: 443.66, not 443.6599999999999681676...
    return Decimal(str(value))


def _to_bar(bar: Bar) -> DailyBar:
    return DailyBar(
        t=bar.timestamp if bar.timestamp.tzinfo else bar.timestamp.replace(tzinfo=UTC),
        o=_decimal(bar.open),
        h=_decimal(bar.high),
        l=_decimal(bar.low),
        c=_decimal(bar.close),
        v=_decimal(bar.volume),
    )


class AlpacaMarketData:
    def __init__(
        self,
        api_key: str,
        secret_key: str,
        url_override: str | None = None,
        *,
        timeout_s: float = 5.0,
        history_start: datetime = HISTORY_START,
    ) -> None:
        self._client = StockHistoricalDataClient(
            api_key, secret_key, url_override=url_override, raw_data=True
        )
        # Retries belong to the queue (the message is redelivered), not to a client loop that sleeps 3 s.
        self._client._retry = 0
        self._client._session = TimeoutSession(timeout_s)
        self._history_start = history_start
        # (symbol, timeframe, limit) -> (monotonic expiry, bars): a bar's length at most, so the newest bar
        # is never older than one bar (a warm Lambda container keeps it between invocations).
        self._cache: dict[tuple[str, tuple[int, str], int], tuple[float, list[DailyBar]]] = {}
        self._cache_lock = threading.Lock()

    def daily_bars(self, symbol: str, limit: int) -> list[DailyBar]:
        """The newest `limit` daily bars, oldest first; empty for an unknown symbol or no data."""
        return self._fetch(symbol, TimeFrame.Day, limit)

    def bars(self, symbol: str, timeframe: str, limit: int) -> list[DailyBar]:
        """The newest `limit` bars of the alert's timeframe, cached per symbol and timeframe for one bar's
        length (a minute at least, an hour for daily bars: they change only as the day's bar forms)."""
        amount, unit = data_timeframe(timeframe)
        key = (symbol.upper(), (amount, unit), limit)
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return list(cached[1])
        frame = TimeFrame(
            amount, {"Min": TimeFrameUnit.Minute, "Hour": TimeFrameUnit.Hour}.get(unit, TimeFrameUnit.Day)
        )
        found = self._fetch(symbol, frame, limit)
        ttl = {"Min": 60 * amount, "Hour": 3600 * amount}.get(unit, 3600)
        with self._cache_lock:
            self._cache[key] = (now + ttl, found)
        return list(found)

    def _fetch(self, symbol: str, timeframe: TimeFrame, limit: int) -> list[DailyBar]:
        if limit < 1:
            return []
        request = StockBarsRequest(
            symbol_or_symbols=symbol,
            timeframe=timeframe,
            start=self._history_start,
            limit=limit,
            sort=Sort.DESC,
            adjustment=Adjustment.SPLIT,
        )
        try:
            result = self._client.get_stock_bars(request)
        except APIError as exc:
            if exc.status_code in _NO_DATA_STATUSES:
                return []
            raise
        if not isinstance(result, dict):
            raise TypeError(f"unexpected alpaca-py result {type(result).__name__}")
        result = BarSet(result)
        bars = result.data.get(symbol) or result.data.get(symbol.upper()) or []
        newest_first = sorted(bars, key=lambda b: b.timestamp, reverse=True)[:limit]
        return [_to_bar(b) for b in reversed(newest_first)]

    def latest_close(self, symbol: str) -> Decimal | None:
        bars = self.daily_bars(symbol, 1)
        return bars[-1].c if bars else None

    def latest_quote(self, symbol: str) -> QuoteView | None:
        """`GET /v2/stocks/quotes/latest` (alpaca-py `get_stock_latest_quote`). Never cached: the executor
        reads it just before sending an entry. None for no data or an empty side (a 0 price)."""
        try:
            found = self._client.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=symbol))
        except APIError as exc:
            if exc.status_code in _NO_DATA_STATUSES:
                return None
            raise
        if not isinstance(found, dict):
            raise TypeError(f"unexpected alpaca-py result {type(found).__name__}")
        quote: object = found.get(symbol) or found.get(symbol.upper())
        if quote is None:
            return None
        if not isinstance(quote, dict):
            raise TypeError(f"unexpected alpaca-py quote {type(quote).__name__}")
        # As alpaca-py's Quote reads it (`QUOTE_MAPPING`): `bp`, `ap` floats and `t` a time, all required.
        try:
            bid, ask, at = float(quote["bp"]), float(quote["ap"]), alpaca_time(quote["t"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TypeError(f"malformed quote in Alpaca's answer: {type(exc).__name__} {exc}") from exc
        if bid <= 0 or ask <= 0:
            return None
        return QuoteView(bid=_decimal(bid), ask=_decimal(ask), at=at if at.tzinfo else at.replace(tzinfo=UTC))
