"""The cold-start benchmark's arithmetic and its replay of a handler's AWS calls (no timing here)."""

from __future__ import annotations

import pytest

from benchmarks.bench_cold_start import ColdStart, _replayable


def test_ratio_is_the_median_of_each_rounds_cold_over_floor() -> None:
    # Paired by round: a round slowed by load slows both of its figures.
    result = ColdStart("webhook", ("core",), import_ms=[300, 600, 320], invoke_ms=[100, 200, 100])
    result.floor_import_ms, result.floor_invoke_ms = [200, 500, 150], [100, 300, 100]

    assert result.cold_ms == [400, 800, 420]
    assert result.ratio == pytest.approx(400 / 300)  # ratios 1.33, 1.0, 1.68
    assert result.met is False
    assert ColdStart("risk", ()).target is None


def test_replayed_messages_go_to_the_scratch_queue_with_the_same_body() -> None:
    calls = [
        {"service": "sqs", "operation": "SendMessage", "method": "send_message",
         "params": {"QueueUrl": "http://moto/123/tradepipe-dev-signals.fifo", "MessageBody": "b"}},
        {"service": "dynamodb", "operation": "PutItem", "method": "put_item", "params": {"TableName": "t"}},
    ]  # fmt: skip

    replay = _replayable(calls, "http://moto/123/scratch.fifo")

    assert replay[0]["params"] == {"QueueUrl": "http://moto/123/scratch.fifo", "MessageBody": "b"}
    assert replay[1] == calls[1]
    assert calls[0]["params"]["QueueUrl"].endswith("signals.fifo")  # the recording is left as it was


def test_a_call_without_a_json_body_cannot_be_replayed() -> None:
    with pytest.raises(RuntimeError, match="s3.PutObject"):
        _replayable(
            [{"service": "s3", "operation": "PutObject", "method": "put_object", "params": None}], "q"
        )
