"""Signal status transitions: one table decides which moves are legal."""

from __future__ import annotations

from tradepipe.domain.model import SignalStatus as S

TRANSITIONS: frozenset[tuple[S, S]] = frozenset(
    {
        (S.RECEIVED, S.ENQUEUED),
        # The risk stage can run before the webhook's ENQUEUED write lands (the queue is faster than the
        # second DynamoDB write), so RECEIVED may move straight on.
        (S.RECEIVED, S.SIZED),
        (S.RECEIVED, S.REJECTED),
        (S.ENQUEUED, S.SIZED),
        (S.ENQUEUED, S.QUEUED),
        (S.RECEIVED, S.QUEUED),
        (S.QUEUED, S.SIZED),
        (S.QUEUED, S.QUEUED),
        (S.QUEUED, S.REJECTED),  # replaced by a newer queued entry, or rejected at the open
        (S.ENQUEUED, S.REJECTED),
        (S.SIZED, S.SUBMITTED),
        (S.SIZED, S.REJECTED),
        (S.SUBMITTED, S.FILLED),
        (S.SIZED, S.COMPLETED),
        # Alpaca can reject after a 200 (asynchronous rejection).
        (S.SUBMITTED, S.REJECTED),
    }
)
