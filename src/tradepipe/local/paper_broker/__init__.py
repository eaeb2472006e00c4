"""An Alpaca-compatible paper broker for local runs and tests.

The real alpaca-py clients talk to it (`url_override=server.url`): orders under Alpaca's rules (unique
client_order_id, bracket price sides, wash trades, held quantity, buying power), fills against real daily
bars (bokeh-sampledata's Quandl WIKI prices), positions, account, fill activities, clock, calendar, assets
and `GET /v2/stocks/bars`. Tests move prices and time through `/_paper/*` or the engine directly.

Modules: `market_data` (bars, cursor, prices), `state` (records), `order_request` (parsing the order body),
`rules` (acceptance rules), `matching` (when and at what price orders execute), `accounting` (cash,
positions, buying power), `engine` (PaperBroker), `faults` (injected failures), `market_clock`,
`wire` (Alpaca JSON), `app` (Starlette routes), `server` (uvicorn in a thread).
"""

from tradepipe.local.paper_broker.engine import PaperBroker
from tradepipe.local.paper_broker.faults import Fault, Faults
from tradepipe.local.paper_broker.market_clock import MarketClock
from tradepipe.local.paper_broker.market_data import DailyBar, EndOfData, PriceFeed, UnknownSymbol
from tradepipe.local.paper_broker.rules import RuleSet

__all__ = [
    "DailyBar",
    "EndOfData",
    "Fault",
    "Faults",
    "MarketClock",
    "PaperBroker",
    "PriceFeed",
    "RuleSet",
    "UnknownSymbol",
]
