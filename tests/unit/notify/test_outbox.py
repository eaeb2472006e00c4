"""The outbox port, held to one contract by both adapters; SQLite also across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.notify_samples import AT, SECRETS, fill, slack_url
from tradepipe.notify.channels import parse_channel
from tradepipe.notify.outbox import MemoryOutbox, Outbox
from tradepipe.notify.outbox_sqlite import SqliteOutbox
from tradepipe.notify.render import Message, render

CHANNEL = parse_channel(slack_url())


def _message(*events: int) -> Message:
    (message,) = render([fill(n) for n in events], CHANNEL)
    return message


@pytest.fixture(params=["memory", "sqlite"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    if request.param == "memory":
        yield MemoryOutbox()
    else:
        box = SqliteOutbox(tmp_path / "state")
        yield box
        box.close()


def test_enqueue_keeps_each_channel_in_order(outbox: Outbox) -> None:
    outbox.enqueue([("a", _message(1)), ("b", _message(2)), ("a", _message(3))], AT)

    head = outbox.head("a")
    assert head is not None
    assert head.message == _message(1)
    outbox.delivered(head.id, AT)
    assert outbox.head("a").message == _message(3)  # type: ignore[union-attr]
    assert outbox.pending_count() == 2
    assert outbox.pending_count("b") == 1


def test_enqueue_skips_what_the_channel_already_took(outbox: Outbox) -> None:
    outbox.enqueue([("a", _message(1))], AT)

    added = outbox.enqueue([("a", _message(1)), ("b", _message(1))], AT)

    assert added == 1
    assert outbox.known("a", [fill(1).event_key(), fill(2).event_key()]) == {fill(1).event_key()}
    assert outbox.pending_count("a") == 1


def test_retry_keeps_the_message_at_the_head_with_its_attempt_and_time(outbox: Outbox) -> None:
    outbox.enqueue([("a", _message(1)), ("a", _message(2))], AT)
    head = outbox.head("a")
    assert head is not None

    outbox.retry(head.id, AT + timedelta(seconds=4), "503 from the service")

    again = outbox.head("a")
    assert again is not None
    assert (again.id, again.attempts, again.not_before) == (head.id, 1, AT + timedelta(seconds=4))


def test_pending_keys_are_those_some_channel_still_waits_for(outbox: Outbox) -> None:
    outbox.enqueue([("a", _message(1)), ("b", _message(1)), ("a", _message(2))], AT)
    first_a = outbox.head("a")
    first_b = outbox.head("b")
    assert first_a is not None
    assert first_b is not None
    outbox.delivered(first_a.id, AT)

    assert outbox.pending_keys([fill(1).event_key(), fill(2).event_key()]) == {
        fill(1).event_key(),
        fill(2).event_key(),
    }
    outbox.drop(first_b.id, AT, "404 from the service")
    assert outbox.pending_keys([fill(1).event_key()]) == set()


def test_prune_forgets_finished_messages_and_keys_but_never_pending_ones(outbox: Outbox) -> None:
    outbox.enqueue([("a", _message(1)), ("a", _message(2))], AT)
    head = outbox.head("a")
    assert head is not None
    outbox.delivered(head.id, AT)

    forgotten = outbox.prune(AT + timedelta(days=8))

    assert forgotten == 1
    assert outbox.pending_count("a") == 1
    assert outbox.known("a", [fill(1).event_key()]) == set()


def test_sqlite_outbox_keeps_pending_messages_across_a_restart(tmp_path: Path) -> None:
    first = SqliteOutbox(tmp_path)
    first.enqueue([("a", _message(1)), ("a", _message(2))], AT)
    head = first.head("a")
    assert head is not None
    first.retry(head.id, AT + timedelta(seconds=8), "no answer: ConnectionRefusedError")
    first.close()

    second = SqliteOutbox(tmp_path)

    again = second.head("a")
    assert again is not None
    assert (again.message, again.attempts, again.not_before) == (_message(1), 1, AT + timedelta(seconds=8))
    assert second.known("a", [fill(2).event_key()]) == {fill(2).event_key()}
    second.close()


def test_sqlite_outbox_uses_wal_full_sync_and_stores_no_channel_secret(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path)
    box.enqueue([(CHANNEL.id, _message(1))], AT)

    journal = box._db.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = box._db.execute("PRAGMA synchronous").fetchone()[0]
    box.close()

    assert (journal, synchronous) == ("wal", 2)  # 2 = FULL
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert CHANNEL.id.encode() in stored
    for secret in SECRETS:
        assert secret.encode() not in stored
