"""The reference the single-machine runtime is measured against: a minimal FastAPI + SQLite webhook that
authenticates, parses, inserts and answers, written the way the single-machine peers are (e.g.
readerwei/tradingview-alpaca-gateway: FastAPI, a pydantic model, one SQLite insert per request, SQLite's
defaults). It does nothing after the answer: no deduplication, no queue, no risk, no order.

    uvicorn benchmarks.reference_webhook:app --port 8100     # REFERENCE_DB=path, REFERENCE_SQLITE=default|wal
"""

from __future__ import annotations

import hmac
import os
import sqlite3
import threading
from datetime import datetime
from decimal import Decimal

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

PASSPHRASE = os.environ.get("REFERENCE_PASSPHRASE", "pw")
_db = sqlite3.connect(os.environ.get("REFERENCE_DB", "reference.db"), check_same_thread=False)
if os.environ.get("REFERENCE_SQLITE", "default") == "wal":
    # Not what the peers ship; measured only to show that stack's ceiling.
    _db.execute("PRAGMA journal_mode=WAL")
    _db.execute("PRAGMA synchronous=NORMAL")
_db.execute(
    "CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, ticker TEXT, signal TEXT, entry TEXT, "
    "stop TEXT, risk TEXT, at TEXT, strategy TEXT)"
)
_lock = threading.Lock()
app = FastAPI()


class Alert(BaseModel):
    passphrase: str
    signal: str
    ticker: str
    entryPrice: Decimal  # noqa: N815 - TradingView's field names
    stopLoss: Decimal  # noqa: N815
    riskAmount: Decimal  # noqa: N815
    timestamp: datetime
    strategy: str


@app.post("/webhook")
def webhook(alert: Alert) -> JSONResponse:
    if not hmac.compare_digest(alert.passphrase.encode(), PASSPHRASE.encode()):
        raise HTTPException(status_code=401, detail="wrong passphrase")
    with _lock:
        _db.execute(
            "INSERT INTO alerts (ticker, signal, entry, stop, risk, at, strategy) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                alert.ticker,
                alert.signal,
                str(alert.entryPrice),
                str(alert.stopLoss),
                str(alert.riskAmount),
                alert.timestamp.isoformat(),
                alert.strategy,
            ),
        )
        _db.commit()
    return JSONResponse({"status": "accepted"}, status_code=202)
