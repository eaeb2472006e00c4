"""Alpaca's order statuses, as Alpaca means them (docs.alpaca.markets "Orders at Alpaca", Order Lifecycle).

- Terminal ("no further updates will occur for the order"): filled, canceled, expired, rejected, and
  replaced (the order lives on as its replacement).
- Not terminal although they sound final: `done_for_day` ("done executing for the day, and will not receive
  further updates until the next trading day": it trades again at the next session) and `stopped` ("a trade
  is guaranteed for the order, usually at a stated price or better, but has not yet occurred": it will
  fill). `calculated` (the day's settlement calculations pending) may still be partly unfilled tomorrow.
- `pending_cancel` is a request in flight: the order can still fill, and what it holds is released only
  once it is `canceled` (Alpaca-API#111, alpaca-py#400).
- `suspended` ("not eligible for trading", rare) is open but does not work.
"""

from __future__ import annotations

TERMINAL = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
# Ended without (or with only part of) its quantity: what a close or an entry that "died" looks like.
ENDED_UNFILLED = frozenset({"canceled", "expired", "rejected"})
# Open and able to trade now or at its next session: what counts as a working order (a stop that covers).
# `accepted`/`pending_new`: received, routed at the open or within milliseconds; `held`: the stop of a
# bracket's working exit pair (Alpaca holds it and triggers it itself).
WORKING = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "held",
        "partially_filled",
        "pending_replace",
        "done_for_day",
        "stopped",
        "calculated",
    }
)
STOP_TYPES = frozenset({"stop", "stop_limit", "trailing_stop"})


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def is_working(status: str) -> bool:
    return status in WORKING
