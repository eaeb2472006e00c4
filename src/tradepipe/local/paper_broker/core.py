"""What every part of the engine works on: the state, the market (feed, clock, quotes) and the settings.

Not locked: the facade (`engine.PaperBroker`) holds its lock around every use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradepipe.local.paper_broker.accounting import Valuation, value
from tradepipe.local.paper_broker.behaviour import BrokerBehaviour
from tradepipe.local.paper_broker.faults import Fault, Faults
from tradepipe.local.paper_broker.market_clock import MarketClock
from tradepipe.local.paper_broker.market_data import PriceFeed
from tradepipe.local.paper_broker.quotes import Quote, quote
from tradepipe.local.paper_broker.rules import RuleSet
from tradepipe.local.paper_broker.state import ZERO, BrokerState


@dataclass
class BrokerCore:
    state: BrokerState
    feed: PriceFeed
    market: MarketClock
    behaviour: BrokerBehaviour
    faults: Faults
    rules: RuleSet
    now: Callable[[], datetime]
    draws: int = 0
    injected: Counter[Fault] = field(default_factory=Counter)

    def quote(self, symbol: str) -> Quote:
        return quote(self.feed.price(symbol), self.behaviour.spread_bps)

    def quote_at(self, price: Decimal) -> Quote:
        return quote(price, self.behaviour.spread_bps)

    def valuation(self) -> Valuation:
        return value(self.state.account, self.state.positions.values(), self.feed.price)

    def position_qty(self, symbol: str) -> Decimal:
        position = self.state.positions.get(symbol)
        return ZERO if position is None else position.qty
