"""Index documents built from table items, and the stream changes that produce them (all five kinds)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tradepipe.adapters.dynamodb import to_item
from tradepipe.adapters.memory import MemorySearchIndex
from tradepipe.app.documents import (
    cap_events,
    equity_documents,
    execution_document,
    fill_document,
    signal_document,
)
from tradepipe.app.index import IndexDeps, index_changes
from tradepipe.contracts.documents import (
    ACCOUNT_WIDE,
    DOCUMENT_MODELS,
    Dimensions,
    EquitySnapshotDocument,
    ExecutionDocument,
    FillDocument,
    RiskEventDocument,
    SignalDocument,
    StageTimes,
)
from tradepipe.contracts.items import (
    EquitySnapshotItem,
    FillItem,
    OrderItem,
    PositionSample,
    SignalItem,
    StatusEntry,
)
from tradepipe.domain.model import CapApplied, Mode, Side, SignalStatus
from tradepipe.ports.stores import TableChange
from tradepipe.sectors import UNKNOWN, sector_of, sector_table

T0 = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


def _at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def _signal(**overrides: Any) -> SignalItem:
    history = [
        StatusEntry(status=SignalStatus.RECEIVED, at=_at(0)),
        StatusEntry(status=SignalStatus.ENQUEUED, at=_at(40)),
        StatusEntry(status=SignalStatus.SIZED, at=_at(340)),
        StatusEntry(status=SignalStatus.SUBMITTED, at=_at(900)),
        StatusEntry(status=SignalStatus.FILLED, at=_at(1900)),
    ]
    values: dict[str, Any] = {
        "signal_id": "s" * 32,
        "status": SignalStatus.FILLED,
        "received_at": _at(0),
        "updated_at": _at(1900),
        "expires_at": 0,
        "history": history,
        "mode": Mode.PAPER,
        "ticker": "AAPL",
        "strategy": "breakout",
        "side": Side.BUY,
        "credential": "default",
        "qty": Decimal("10"),
    }
    values.update(overrides)
    return SignalItem(**values)


def _order(**overrides: Any) -> OrderItem:
    values: dict[str, Any] = {
        "client_order_id": f"tp-{'s' * 32}-open",
        "intent_id": f"{'s' * 32}:open",
        "signal_id": "s" * 32,
        "mode": Mode.PAPER,
        "strategy": "breakout",
        "symbol": "AAPL",
        "side": Side.BUY,
        "qty": Decimal(10),
        "order_class": "bracket",
        "status": "filled",
        "created_at": _at(500),
        "updated_at": _at(2000),
        "submitted_at": _at(880),
        "filled_at": _at(1850),
        "filled_qty": Decimal(10),
        "filled_avg_price": Decimal("150.25"),
    }
    values.update(overrides)
    return OrderItem(**values)


def _fill(side: str = "buy", qty: str = "10", price: str = "150.25", **overrides: Any) -> FillItem:
    signed = Decimal(qty) if side == "buy" else -Decimal(qty)
    values: dict[str, Any] = {
        "pk": "paper#AAPL",
        "execution_id": "x-1",
        "mode": Mode.PAPER,
        "symbol": "AAPL",
        "side": side,
        "qty": Decimal(qty),
        "signed_qty": signed,
        "price": Decimal(price),
        "at": _at(1850),
        "broker_order_id": "b-1",
        "client_order_id": f"tp-{'s' * 32}-open",
        "signal_id": "s" * 32,
    }
    values.update(overrides)
    return FillItem(**values)


def _state_image(*switches: tuple[str, str, str, int]) -> dict[str, Any]:
    return {
        "pk": "STATE#paper",
        "sk": "STATE",
        "state": switches[-1][1] if switches else "ACTIVE",
        "high_water_mark": Decimal(100000),
        "history": [
            {"from_state": f, "to_state": t, "rule": r, "detail": f"{r} tripped", "at": _at(ms).isoformat()}
            for f, t, r, ms in switches
        ],
    }


def _equity_item() -> EquitySnapshotItem:
    return EquitySnapshotItem(
        pk="EQUITY#paper",
        sk="2024-03-04T15:00Z",
        account="paper",
        sampled_at=T0,
        equity=Decimal("100000"),
        last_equity=Decimal("99000"),
        buying_power=Decimal("180000"),
        positions=[
            PositionSample(
                ticker="MSFT", qty=Decimal(-5), market_value=Decimal("-2000"), avg_entry_price=Decimal("410")
            ),
            PositionSample(
                ticker="AAPL", qty=Decimal(10), market_value=Decimal("1600"), avg_entry_price=Decimal("150")
            ),
            PositionSample(ticker="IBM", qty=Decimal(0), market_value=Decimal(0), avg_entry_price=Decimal(0)),
        ],
        expires_at=0,
    )


def _image(model: Any) -> dict[str, Any]:
    """As the stream delivers it: what the DynamoDB adapters store (Decimals, ISO strings)."""
    return to_item(model.model_dump(mode="python"))


# --- documents ----------------------------------------------------------------------------------------


def test_signal_document_when_filled_then_stage_times_latencies_outcome_and_sector() -> None:
    doc = signal_document(_signal())

    assert (doc.received_at, doc.enqueued_at, doc.sized_at, doc.submitted_at, doc.filled_at) == (
        _at(0),
        _at(40),
        _at(340),
        _at(900),
        _at(1900),
    )
    assert (doc.enqueue_ms, doc.sizing_ms, doc.submit_ms, doc.fill_ms, doc.total_ms) == (
        40,
        300,
        560,
        1000,
        1900,
    )
    assert doc.outcome == "accepted"
    assert doc.sector == "Information Technology"
    assert doc.mode == "paper"
    assert doc.strategy == "breakout"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        pytest.param(SignalStatus.REJECTED, "rejected", id="rejected"),
        pytest.param(SignalStatus.ENQUEUED, "pending", id="in-flight"),
        pytest.param(SignalStatus.QUEUED, "pending", id="waiting-for-open"),
        pytest.param(SignalStatus.COMPLETED, "accepted", id="completed"),
    ],
)
def test_signal_document_outcome_by_status(status: SignalStatus, outcome: str) -> None:
    assert signal_document(_signal(status=status)).outcome == outcome


def test_signal_document_when_waited_for_the_open_then_no_sizing_latency() -> None:
    history = [
        StatusEntry(status=SignalStatus.RECEIVED, at=_at(0)),
        StatusEntry(status=SignalStatus.ENQUEUED, at=_at(40)),
        StatusEntry(status=SignalStatus.QUEUED, at=_at(100)),
        StatusEntry(status=SignalStatus.SIZED, at=_at(3_600_000)),
    ]

    doc = signal_document(_signal(status=SignalStatus.SIZED, history=history))

    assert doc.queued_at == _at(100)
    assert doc.sizing_ms is None
    assert doc.enqueue_ms == 40


def test_signal_document_when_invalid_alert_then_dimensions_null_not_unknown() -> None:
    doc = signal_document(_signal(mode=None, ticker=None, strategy=None, status=SignalStatus.REJECTED))

    assert (doc.mode, doc.ticker, doc.sector, doc.strategy) == (None, None, None, None)


def test_execution_document_takes_early_stages_from_signal_and_late_ones_from_order() -> None:
    doc = execution_document(_order(), _signal())

    assert (doc.received_at, doc.enqueued_at, doc.sized_at) == (_at(0), _at(40), _at(340))
    assert (doc.submitted_at, doc.filled_at) == (_at(880), _at(1850))
    assert doc.filled_notional == pytest.approx(1502.5)
    assert (doc.ticker, doc.sector, doc.strategy, doc.mode) == (
        "AAPL",
        "Information Technology",
        "breakout",
        "paper",
    )


def test_execution_document_when_signal_expired_then_signal_times_null_order_times_kept() -> None:
    doc = execution_document(_order(), None)

    assert (doc.received_at, doc.enqueued_at, doc.sized_at) == (None, None, None)
    assert doc.submitted_at == _at(880)


@pytest.mark.parametrize(
    ("side", "cash_flow", "signed"),
    [
        pytest.param("buy", -1502.5, 10.0, id="buy-spends"),
        pytest.param("sell", 1502.5, -10.0, id="sell-earns"),
    ],
)
def test_fill_document_cash_flow_sign(side: str, cash_flow: float, signed: float) -> None:
    doc = fill_document(_fill(side=side), _signal())

    assert doc.cash_flow == pytest.approx(cash_flow)
    assert doc.signed_qty == signed
    assert doc.notional == pytest.approx(1502.5)
    assert doc.fill_id == "paper#AAPL#x-1"
    assert doc.strategy == "breakout"
    assert doc.filled_at == _at(1900)  # the signal's, while executed_at is the execution's own
    assert doc.executed_at == _at(1850)


def test_fill_document_when_not_our_order_then_no_strategy() -> None:
    doc = fill_document(_fill(client_order_id=None, signal_id=None), None)

    assert doc.strategy is None
    assert doc.received_at is None


def test_risk_events_when_caps_bit_at_sizing_then_one_event_per_cap_with_quantities() -> None:
    caps = [
        _cap("max_notional_per_position", 100, 50, "5000 notional"),
        _cap("buying_power", 50, 40, "buying power 6000 with a 5% cushion"),
    ]

    events = cap_events(_signal(risk_caps=caps))

    assert [(e.kind, e.rule, e.qty_before, e.qty_after) for e in events] == [
        ("cap_applied", "max_notional_per_position", 100, 50),
        ("cap_applied", "buying_power", 50, 40),
    ]
    assert {e.at for e in events} == {_at(340)}
    assert len({e.event_id for e in events}) == 2
    assert events[0].sized_at == _at(340)
    assert events[0].sector == "Information Technology"


def test_risk_events_when_capped_to_zero_then_cap_rejected_event() -> None:
    rejected = _signal(
        status=SignalStatus.REJECTED,
        history=[StatusEntry(status=SignalStatus.REJECTED, at=_at(300))],
        reject_reason="CAPPED_TO_ZERO",
        reject_detail="buying_power: qty 5 -> 0 (buying power 10 with a 5% cushion)",
        risk_caps=[_cap("buying_power", 5, 0, "buying power 10 with a 5% cushion")],
    )

    [event] = cap_events(rejected)

    assert (event.kind, event.rule, event.qty_before, event.qty_after, event.at) == (
        "cap_rejected",
        "buying_power",
        5,
        0,
        _at(300),
    )
    assert event.detail == "buying_power: qty 5 -> 0 (buying power 10 with a 5% cushion)"


def test_signal_item_when_written_before_caps_were_structured_then_text_notes_dropped() -> None:
    legacy = _image(_signal()) | {"risk_caps": ["buying_power: qty 10 -> 5 (x)"]}

    item = SignalItem.model_validate(legacy)

    assert item.risk_caps is None
    assert cap_events(item) == []


def test_risk_events_when_no_cap_bit_then_none() -> None:
    assert cap_events(_signal()) == []
    assert cap_events(_signal(status=SignalStatus.REJECTED, reject_reason="COOLDOWN")) == []


def test_equity_snapshot_documents_account_and_each_open_position() -> None:
    docs = equity_documents(_equity_item())

    account, aapl, msft = docs
    assert (account.kind, account.strategy, account.ticker, account.sector) == ("account", "*", "*", "*")
    assert account.day_pl == 1000
    assert (account.long_market_value, account.short_market_value) == (1600, -2000)
    assert (account.gross_exposure, account.net_exposure, account.open_positions) == (3600, -400, 2)
    assert (aapl.ticker, aapl.side, aapl.cost_basis, aapl.unrealized_pl) == ("AAPL", "long", 1500, 100)
    assert (msft.side, msft.cost_basis, msft.unrealized_pl, msft.gross_value) == ("short", -2050, 50, 2000)
    assert msft.exposure_pct == pytest.approx(2.0)
    assert aapl.strategy == ACCOUNT_WIDE
    assert len({d.snapshot_id for d in docs}) == 3


def test_every_document_model_carries_the_dimensions_and_signal_documents_the_stage_times() -> None:
    for model in DOCUMENT_MODELS.values():
        assert issubclass(model, Dimensions), model
        assert set(Dimensions.model_fields) <= set(model.model_fields)
    for model in (SignalDocument, ExecutionDocument, FillDocument, RiskEventDocument):
        assert issubclass(model, StageTimes)
    assert not issubclass(EquitySnapshotDocument, StageTimes)


def test_no_document_field_can_hold_a_secret() -> None:
    for model in DOCUMENT_MODELS.values():
        for name in model.model_fields:
            assert not any(
                word in name for word in ("passphrase", "secret", "password", "api_key", "token")
            ), f"{model.__name__}.{name}"


def test_sectors_named_source_for_every_row_and_unknown_for_unlisted() -> None:
    for ticker in ("AAPL", "MSFT", "IBM", "GOOG", "FB", "AMZN", "TSLA", "NVDA", "SPY"):
        assert sector_of(ticker) != UNKNOWN, ticker
    assert sector_of("SPY") == "ETF"
    assert sector_of("aapl") == "Information Technology"
    assert sector_of("ZZZZ") == UNKNOWN
    assert len(sector_table()) >= 9


# --- stream changes -> actions --------------------------------------------------------------------------


class _Signals:
    def __init__(self, *items: SignalItem) -> None:
        self.items = {i.signal_id: i for i in items}
        self.asked: list[list[str]] = []

    def get_many(self, signal_ids: Sequence[str]) -> Mapping[str, SignalItem]:
        self.asked.append(list(signal_ids))
        return {sid: self.items[sid] for sid in signal_ids if sid in self.items}


def test_index_changes_when_all_five_kinds_then_each_lands_in_its_alias() -> None:
    search = MemorySearchIndex()
    signal = _signal(risk_caps=[_cap("max_notional_per_position", 10, 5, "x")])
    changes = [
        TableChange("signals", "INSERT", "1", _image(signal)),
        TableChange("orders", "MODIFY", "2", _image(_order())),
        TableChange("fills", "INSERT", "3", _image(_fill())),
        TableChange(
            "risk-state",
            "MODIFY",
            "4",
            _state_image(
                ("ACTIVE", "REDUCING", "daily_loss_limit", 100), ("REDUCING", "HALTED", "max_drawdown", 200)
            ),
            _state_image(("ACTIVE", "REDUCING", "daily_loss_limit", 100)),
        ),
        TableChange("risk-state", "INSERT", "5", _image(_equity_item())),
    ]
    lookup = _Signals(signal)

    failed = index_changes(changes, IndexDeps(search, lookup))

    assert failed == []
    assert lookup.asked == [["s" * 32, "s" * 32]]  # one lookup per batch
    by_index: dict[str, list[str]] = {}
    for index, doc_id in search.documents:
        by_index.setdefault(index, []).append(doc_id)
    assert by_index["trading-signals"] == ["s" * 32]
    assert by_index["trade-executions"] == [f"tp-{'s' * 32}-open"]
    assert by_index["fills"] == ["paper#AAPL#x-1"]
    assert by_index["equity-snapshots"] == [
        "paper#2024-03-04T15:00Z#*",
        "paper#2024-03-04T15:00Z#AAPL",
        "paper#2024-03-04T15:00Z#MSFT",
    ]
    # Only the switch the change added, plus the cap noted on the signal.
    risk = [search.documents[("risk-events", i)] for i in by_index["risk-events"]]
    assert sorted((d["kind"], d["rule"]) for d in risk) == [
        ("cap_applied", "max_notional_per_position"),
        ("state_switch", "max_drawdown"),
    ]
    switch = next(d for d in risk if d["kind"] == "state_switch")
    assert (switch["from_state"], switch["to_state"], switch["state_level"]) == ("REDUCING", "HALTED", 2)
    assert (switch["mode"], switch["strategy"], switch["ticker"]) == ("paper", "*", "*")
    execution = search.documents[("trade-executions", f"tp-{'s' * 32}-open")]
    assert execution["sized_at"] is not None
    assert search.documents[("fills", "paper#AAPL#x-1")]["strategy"] == "breakout"


def test_index_changes_when_caps_already_indexed_then_later_status_changes_add_no_cap_events() -> None:
    search = MemorySearchIndex()
    sized = _signal(risk_caps=[_cap("buying_power", 10, 5, "x")], status=SignalStatus.SIZED)
    filled = sized.model_copy(update={"status": SignalStatus.FILLED})

    index_changes([TableChange("signals", "MODIFY", "9", _image(filled), _image(sized))], IndexDeps(search))

    assert [index for index, _ in search.documents] == ["trading-signals"]


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(
            {"pk": "SYMBOL#paper#AAPL#s", "sk": "SYMBOL", "last_exit_at": T0.isoformat()}, id="symbol"
        ),
        pytest.param({"pk": "RATE#paper#1", "sk": "RATE", "orders": Decimal(3)}, id="rate-counter"),
        pytest.param({"pk": "QUEUED#paper", "sk": "AAPL", "signal_id": "x"}, id="queued-entry"),
    ],
)
def test_index_changes_when_risk_state_working_items_then_nothing_indexed(image: dict[str, Any]) -> None:
    search = MemorySearchIndex()

    assert index_changes([TableChange("risk-state", "MODIFY", "1", image)], IndexDeps(search)) == []
    assert search.documents == {}


def test_index_changes_when_high_water_mark_moves_then_no_risk_event() -> None:
    search = MemorySearchIndex()
    before = _state_image(("ACTIVE", "HALTED", "manual", 100))
    after = {**before, "high_water_mark": Decimal(200000)}

    index_changes([TableChange("risk-state", "MODIFY", "1", after, before)], IndexDeps(search))

    assert search.documents == {}


def test_index_changes_when_ttl_removes_a_snapshot_then_its_documents_stay() -> None:
    search = MemorySearchIndex()

    assert (
        index_changes(
            [TableChange("risk-state", "REMOVE", "1", None, _image(_equity_item()))], IndexDeps(search)
        )
        == []
    )
    assert search.documents == {}


def _cap(name: str, before: int, after: int, limit: str) -> CapApplied:
    return CapApplied(cap=name, qty_before=Decimal(before), qty_after=Decimal(after), limit=limit)


class _RecordingIndex(MemorySearchIndex):
    """Keeps each bulk request's actions; refuses the documents named in `refuse`."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.requests: list[list[tuple[str, str]]] = []
        self._refuse = refuse

    def bulk(self, actions: Sequence[Any]) -> list[str]:
        self.requests.append([(a.index, a.doc_id) for a in actions])
        accepted = [a for a in actions if a.doc_id not in self._refuse]
        super().bulk(accepted)
        return [f"{a.index}/{a.doc_id}" for a in actions if a.doc_id in self._refuse]


def _one_alert_changes() -> list[TableChange]:
    """What one alert writes in well under a second: its signal four times (the caps appear when SIZED),
    its order twice."""
    received = _signal(
        status=SignalStatus.RECEIVED, history=[StatusEntry(status=SignalStatus.RECEIVED, at=T0)]
    )
    enqueued = received.model_copy(update={"status": SignalStatus.ENQUEUED})
    sized = enqueued.model_copy(
        update={"status": SignalStatus.SIZED, "risk_caps": [_cap("buying_power", 10, 5, "x")]}
    )
    submitted = sized.model_copy(update={"status": SignalStatus.SUBMITTED})
    order = _order()
    return [
        TableChange("signals", "INSERT", "11", _image(received)),
        TableChange("signals", "MODIFY", "12", _image(enqueued), _image(received)),
        TableChange("signals", "MODIFY", "13", _image(sized), _image(enqueued)),
        TableChange("orders", "INSERT", "14", _image(order)),
        TableChange("signals", "MODIFY", "15", _image(submitted), _image(sized)),
        TableChange("orders", "MODIFY", "16", _image(order.model_copy(update={"status": "new"}))),
    ]


def test_index_changes_when_a_record_changes_several_times_in_a_batch_then_indexed_once_as_it_ends() -> None:
    search = _RecordingIndex()

    assert index_changes(_one_alert_changes(), IndexDeps(search, _Signals(_signal()))) == []

    # One request, each document once: the signal as it ends (SUBMITTED), the cap that appeared on the way.
    assert len(search.requests) == 1
    assert sorted(search.requests[0]) == sorted(
        [
            ("trading-signals", "s" * 32),
            ("risk-events", next(i for x, i in search.documents if x == "risk-events")),
            ("trade-executions", f"tp-{'s' * 32}-open"),
        ]
    )
    assert search.documents[("trading-signals", "s" * 32)]["status"] == "SUBMITTED"
    assert search.documents[("trade-executions", f"tp-{'s' * 32}-open")]["status"] == "new"


def test_index_changes_when_a_folded_record_fails_then_its_first_change_is_retried() -> None:
    search = _RecordingIndex(refuse=frozenset({"s" * 32}))

    failed = index_changes(_one_alert_changes(), IndexDeps(search, _Signals(_signal())))

    # The retry starts at the signal's first change, so none of the changes folded into it is skipped.
    assert failed == ["11"]
