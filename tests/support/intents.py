"""An entry's order intent as the risk stage sends it, for tests that need one (ids derived from the
signal id as `app/assess.py::_intent` derives them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, Side


def open_intent(signal_id: str, symbol: str = "IBM", **over: Any) -> OrderIntent:
    fields: dict[str, Any] = {
        "intent_id": f"{signal_id}:open",
        "client_order_id": f"tp-{signal_id}-open",
        "close_client_order_id": f"tp-{signal_id}-close",
        "kind": "open",
        "signal_id": signal_id,
        "mode": Mode.PAPER,
        "strategy": "itest",
        "symbol": symbol,
        "side": Side.BUY,
        "qty": 1,
        # Sized just now, as the risk stage stamps it: an entry sized long ago is STALE_AT_SUBMIT.
        "sized_at": datetime.now(UTC),
    }
    return OrderIntent(**(fields | over))
