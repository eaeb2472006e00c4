"""Test data builders: a valid alert body and signal, varied one field at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradepipe.domain.model import Mode, Side, Signal

PASSPHRASE = "correct horse battery staple"


def alert_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "passphrase": PASSPHRASE,
        "signal": "BUY",
        "ticker": "AAPL",
        "tradingMode": "Paper",
        "riskAmount": 100.0,
        "entryPrice": 150.25,
        "stopLoss": 148.5,
        "takeProfit": 155.0,
        "timestamp": "2024-01-01T12:00:00Z",
        "strategy": "momentum_breakout",
        "timeframe": "5m",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def signal(
    side: Side = Side.BUY,
    entry: str = "150.25",
    stop: str = "148.5",
    target: str | None = "155.0",
    risk: str = "100",
    mode: Mode = Mode.PAPER,
) -> Signal:
    return Signal(
        signal_id="s" * 32,
        side=side,
        ticker="AAPL",
        mode=mode,
        risk_amount=Decimal(risk),
        entry_price=Decimal(entry),
        stop_loss=Decimal(stop),
        take_profit=None if target is None else Decimal(target),
        alert_time=datetime(2024, 1, 1, 12, tzinfo=UTC),
        strategy="momentum_breakout",
        timeframe="5m",
    )
