"""Which received intents to bring back soon: the groups whose message waits for the broker (NotYet).

On Lambda a failed record comes back after the queue's visibility timeout (minutes); a close waiting for its
legs' cancel to be confirmed should be retried in seconds. SQS FIFO holds a message group while any of its
messages is in flight, and the batch processor fails every later record of a failed group, so all of the
group's failed records are brought back together."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class WaitingGroups:
    def __init__(self) -> None:
        self._groups: set[str] = set()

    def clear(self) -> None:
        self._groups.clear()

    def note(self, group_id: str | None) -> None:
        self._groups.add(group_id or "")

    def receipts(self, event: Mapping[str, Any], response: Mapping[str, Any] | None) -> list[str]:
        """The failed records of the waiting groups; `response` None: every record failed (the processor
        raised)."""
        records = event.get("Records", [])
        failed = (
            {r["messageId"] for r in records}
            if response is None
            else {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        )
        return [
            r["receiptHandle"]
            for r in records
            if r["messageId"] in failed and r.get("attributes", {}).get("MessageGroupId", "") in self._groups
        ]


def with_redelivery(
    event: Mapping[str, Any],
    waiting: WaitingGroups,
    process: Callable[[], Mapping[str, Any]],
    redeliver: Callable[[list[str]], None],
) -> Mapping[str, Any]:
    """Run the batch; then bring the waiting groups' failed records back soon. A batch that raised failed as a
    whole (its records all come back): the waiting ones soon, the rest after the visibility timeout."""
    waiting.clear()
    try:
        response = process()
    except Exception:
        redeliver(waiting.receipts(event, None))
        raise
    redeliver(waiting.receipts(event, response))
    return response
