"""tradepipe: TradingView alerts -> risk-sized Alpaca orders, every step visible in OpenSearch.

The package is Lambda-free: handlers in `functions/` call `tradepipe.app`, which calls `tradepipe.domain`
(pure decisions) and reaches the outside world only through the Protocols in `tradepipe.ports`.
"""

__version__ = "0.1.0"
