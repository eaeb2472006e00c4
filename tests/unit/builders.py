"""Test data builders: a valid alert body and signal, varied one field at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradepipe.domain.model import Action, Mode, Side, Signal, SizingMode

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
    stop: str | None = "148.5",
    target: str | None = "155.0",
    risk: str = "100",
    mode: Mode = Mode.PAPER,
    **over: Any,
) -> Signal:
    fields: dict[str, Any] = {
        "signal_id": "s" * 32,
        "action": Action.ENTER,
        "side": side,
        "ticker": "AAPL",
        "mode": mode,
        "sizing_mode": SizingMode.RISK_DOLLARS,
        "sizing_value": Decimal(risk),
        "entry_price": Decimal(entry),
        "stop_loss": None if stop is None else Decimal(stop),
        "take_profit": None if target is None else Decimal(target),
        "alert_time": datetime(2024, 1, 1, 12, tzinfo=UTC),
        "strategy": "momentum_breakout",
        "timeframe": "5m",
    }
    fields.update(over)
    return Signal(**fields)


def fresh_timestamp(seconds_ago: int = 0) -> str:
    """An alert time the staleness check accepts; distinct offsets keep otherwise equal alerts distinct."""
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).replace(microsecond=0).isoformat()
