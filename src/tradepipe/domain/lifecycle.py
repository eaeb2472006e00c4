"""A signal's lifecycle: the one table of legal status moves.

Every store's `advance` builds its write condition from `allowed_from(target)`, so a move this table does
not list cannot be written by any stage, and a redelivered message that finds its signal already moved on
changes nothing.
"""

from __future__ import annotations

from tradepipe.domain.model import SignalStatus as S

TRANSITIONS: frozenset[tuple[S, S]] = frozenset(
    {
        (S.RECEIVED, S.ENQUEUED),
        # The risk stage can run before the webhook's ENQUEUED write lands (the queue is faster than the
        # second DynamoDB write), so RECEIVED may move straight on.
        (S.RECEIVED, S.SIZED),
        (S.ENQUEUED, S.SIZED),
        # Outside regular hours an entry waits for the open, then goes through the risk stage again.
        (S.RECEIVED, S.QUEUED),
        (S.ENQUEUED, S.QUEUED),
        (S.QUEUED, S.SIZED),
        # Released at an open that closed again before the risk stage saw it: queued once more.
        (S.QUEUED, S.QUEUED),
        (S.SIZED, S.SUBMITTED),
        (S.SUBMITTED, S.FILLED),
        # The executor died after the broker accepted the order but before it recorded SUBMITTED, and the
        # reconciler saw the fill first (the chaos test's crashes make this happen). The backtest's simulated
        # broker also fills a sized order without a submission step.
        (S.SIZED, S.FILLED),
        # A CANCEL carried out, or an EXIT that found nothing to close: no order was placed. (Never from
        # SUBMITTED: once an order is placed the signal ends FILLED or REJECTED.)
        (S.SIZED, S.COMPLETED),
        # A rule of the risk stage (before sizing), an Alpaca rule or a 4xx at submission (sized), or an
        # order Alpaca rejected or cancelled after accepting it (submitted). Intake records its rejections
        # as new items, not as moves.
        (S.RECEIVED, S.REJECTED),
        (S.ENQUEUED, S.REJECTED),
        (S.QUEUED, S.REJECTED),  # also: replaced in the open queue by a newer entry for the same ticker
        (S.SIZED, S.REJECTED),
        (S.SUBMITTED, S.REJECTED),
        # A collared entry cancelled at its entry_timeout_s with nothing filled (app/entry_timeout.py); from
        # SIZED when the executor died before recording SUBMITTED. Partly filled, it ends FILLED.
        (S.SUBMITTED, S.ENTRY_NOT_FILLED),
        (S.SIZED, S.ENTRY_NOT_FILLED),
    }
)

_SOURCES: dict[S, frozenset[S]] = {
    target: frozenset(source for source, to in TRANSITIONS if to is target) for target in S
}

# Before the risk stage decided: the statuses a (re)delivered signal message may still be assessed from.
PRE_SIZING: frozenset[S] = _SOURCES[S.SIZED]


def allowed_from(status: S) -> frozenset[S]:
    """The statuses a signal may move to `status` from (empty: nothing moves there)."""
    return _SOURCES[status]
