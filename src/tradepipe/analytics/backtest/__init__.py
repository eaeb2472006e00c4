"""Backtests through the live code path: a Python port of a shipped Pine strategy renders the same alert
bodies TradingView would send; they are decoded, parsed, checked and assessed by the same domain functions
and risk config as the webhook and the risk function; a simulated broker fills the approved orders."""
