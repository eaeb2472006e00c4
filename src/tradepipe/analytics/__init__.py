"""Indicators over market data (TA-Lib, numpy). Imported only by the risk stage: the webhook's import path
must never load numpy or TA-Lib (cold start)."""
