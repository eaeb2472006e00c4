"""Sector per ticker, from the bundled `data/sectors.csv` (ticker, sector, source).

Source: the GICS sector of each company as listed in the S&P 500 constituents list (S&P Dow Jones Indices'
GICS classification, as published in the list of S&P 500 companies, 2024-06), transcribed for the tickers
the local broker and the demo trade plus common large caps; ETFs are "ETF" (a fund has no GICS sector).
The mapping is today's classification, not the one in force on a historical bar's date (GOOG and FB were
Information Technology before the 2018 GICS change). A ticker not listed is "Unknown": add a row (with
its source) rather than guessing in code.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

UNKNOWN = "Unknown"
ETF = "ETF"


@cache
def sector_table() -> dict[str, str]:
    text = (resources.files("tradepipe") / "data" / "sectors.csv").read_text()
    table: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        ticker, sector, source = row["ticker"].strip().upper(), row["sector"].strip(), row["source"].strip()
        if not (ticker and sector and source):
            raise ValueError(f"sectors.csv: incomplete row {row!r}: ticker, sector and source are required")
        if ticker in table:
            raise ValueError(f"sectors.csv: {ticker} listed twice")
        table[ticker] = sector
    return table


def sector_of(ticker: str) -> str:
    return sector_table().get(ticker.strip().upper(), UNKNOWN)
