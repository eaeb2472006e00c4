"""An Alpaca-like paper broker for local runs and tests.

The real alpaca-py clients talk to it (`url_override=server.url`, with its key pair): orders under Alpaca's
rules and lifecycle (asynchronous fills and cancels, held quantity, wash trades, bid/ask, shortability,
pattern day trading, NYSE hours, rate limit), fills against real daily bars (bokeh-sampledata's Quandl
WIKI prices), positions, account, fill activities, clock, calendar, assets and `GET /v2/stocks/bars`.
Its state can live in its own SQLite file. Tests move prices and time through `/_paper/*` or the engine.

Modules: `facade` (PaperBroker), `behaviour` (alpaca / instant), `acceptance` + `rules` + `pdt` +
`order_request` (what an order must pass), `book` (orders and their groups), `lifecycle` (timed steps),
`execution` + `matching` (fills; the daily-bar rules are `tradepipe.domain.daily_bar_fills`), `queries`
(order lists, activities, bars), `accounting` (cash, positions, buying power), `quotes`, `assets`,
`market_data` (bars, cursor), `market_clock` + `nyse_calendar` (hours), `faults` (injected failures),
`render` (Alpaca JSON), `store` (SQLite), `guard` + `rate_limit` (who may call, how often), `app` +
`params` (HTTP), `server` (a thread), `__main__` (a process).
"""

from tradepipe.local.paper_broker.behaviour import BrokerBehaviour
from tradepipe.local.paper_broker.clock import ManualClock
from tradepipe.local.paper_broker.facade import PaperBroker
from tradepipe.local.paper_broker.faults import Fault, Faults
from tradepipe.local.paper_broker.market_clock import MarketClock
from tradepipe.local.paper_broker.market_data import DailyBar, EndOfData, PriceFeed, UnknownSymbol
from tradepipe.local.paper_broker.rules import RuleSet
from tradepipe.local.paper_broker.store import MemoryStore, SqliteStore

__all__ = [
    "BrokerBehaviour",
    "DailyBar",
    "EndOfData",
    "Fault",
    "Faults",
    "ManualClock",
    "MarketClock",
    "MemoryStore",
    "PaperBroker",
    "PriceFeed",
    "RuleSet",
    "SqliteStore",
    "UnknownSymbol",
]
