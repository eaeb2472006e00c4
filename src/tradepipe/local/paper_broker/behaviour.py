"""How Alpaca-like the paper broker is: its lifecycle delays, spread, rate limit and market hours.

`BrokerBehaviour.alpaca()` is the default: orders and cancels are asynchronous, as at Alpaca. `instant()`
keeps the broker as it was before (fills and cancels inside the request, no spread, no rate limit, always
open) for pipeline tests whose executor does not yet follow the asynchronous lifecycle. Every acceptance
rule (held quantity, wash trades, buying power, shortability, pattern day trading) applies in both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Alpaca Trading API reference, Rate Limit: "200 requests every minute per API key", 429 beyond
# (https://docs.alpaca.markets/reference; alpacahq/alpaca-docs content/api-references/trading-api/_index.md).
ALPACA_REQUESTS_PER_MINUTE = 200


@dataclass(frozen=True)
class BrokerBehaviour:
    name: str
    # An order is answered `pending_new` (or `accepted` outside its session) and turns `new` this long
    # later; a marketable one executes `fill_delay_s` after that. Alpaca: a market order's POST answers
    # accepted/pending_new and the fill arrives later (docs "Orders at Alpaca", Order Lifecycle).
    ack_delay_s: float
    fill_delay_s: float
    # DELETE /v2/orders/{id} is a request: `pending_cancel` for this long, then `canceled` (Alpaca-API#111).
    cancel_delay_s: float
    # PATCH /v2/orders/{id}: the old order is `pending_replace` for this long, then `replaced`.
    replace_delay_s: float
    # The full bid-ask spread around the last price, in basis points (each side at least one cent).
    spread_bps: Decimal
    # Requests per minute per API key (None: unlimited).
    rate_limit_per_minute: int | None
    # True: the market never closes. False: NYSE regular hours, holidays and early closes.
    always_open: bool
    # Alpaca's pattern-day-trader protection (403 on a 4th day trade in 5 business days under $25,000).
    pattern_day_trader_check: bool = True

    @classmethod
    def alpaca(cls, **overrides: Any) -> BrokerBehaviour:
        """Alpaca as a trader meets it: tens of milliseconds between the answer and the fill, a 2 bp spread,
        200 requests a minute, NYSE hours."""
        base = cls(
            name="alpaca",
            ack_delay_s=0.02,
            fill_delay_s=0.03,
            cancel_delay_s=0.05,
            replace_delay_s=0.05,
            spread_bps=Decimal(2),
            rate_limit_per_minute=ALPACA_REQUESTS_PER_MINUTE,
            always_open=False,
        )
        return dataclasses.replace(base, **overrides)

    @classmethod
    def instant(cls, **overrides: Any) -> BrokerBehaviour:
        """Synchronous: a marketable order is filled and a cancel done inside the request; no spread, no
        rate limit, always open. For callers that do not yet follow Alpaca's asynchronous lifecycle."""
        base = cls(
            name="instant",
            ack_delay_s=0.0,
            fill_delay_s=0.0,
            cancel_delay_s=0.0,
            replace_delay_s=0.0,
            spread_bps=Decimal(0),
            rate_limit_per_minute=None,
            always_open=True,
        )
        return dataclasses.replace(base, **overrides)

    @classmethod
    def named(cls, name: str, **overrides: Any) -> BrokerBehaviour:
        if name == "alpaca":
            return cls.alpaca(**overrides)
        if name == "instant":
            return cls.instant(**overrides)
        raise ValueError(f"unknown broker behaviour {name!r} (alpaca or instant)")

    def but(self, **changes: Any) -> BrokerBehaviour:
        return dataclasses.replace(self, **changes)
