"""The terminal rendering of a trail."""

from __future__ import annotations

from tradepipe.cli.status import render_trail


def test_render_trail_shows_states_reasons_and_orders() -> None:
    text = render_trail(
        {
            "signal_id": "abc",
            "status": "FILLED",
            "action": "ENTER",
            "side": "BUY",
            "ticker": "IBM",
            "mode": "paper",
            "strategy": "s",
            "qty": 40,
            "trail": [
                {"status": "RECEIVED", "at": "t0"},
                {"status": "SIZED", "at": "t1", "detail": "open qty=40"},
                {"status": "FILLED", "at": "t2", "detail": "qty=40 avg_price=202.91"},
            ],
            "orders": [
                {
                    "client_order_id": "tp-abc-close",
                    "purpose": "close",
                    "side": "BUY",
                    "qty": 95,
                    "order_class": "simple",
                    "broker_order_id": "b1",
                    "status": "filled",
                    "filled_qty": "95",
                    "filled_avg_price": "202.91",
                }
            ],
        }
    )

    assert "signal abc  FILLED  ENTER BUY IBM paper s" in text
    assert "SIZED      open qty=40" in text
    assert "order tp-abc-close (close, BUY 95, simple) alpaca b1: filled filled 95 @ 202.91" in text
