"""The risk engine's decisions: a scenario table (each rule, cap, state, clock state and ATR case with the
expected decision and reason text) and hypothesis properties (never over-risk, never over a cap, never a
bad quantity, HALTED lets nothing through, REDUCING only exits)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.builders import signal as build_signal
from tradepipe.domain.model import Action, Rejected, RejectReason, Side, Signal, SizingMode
from tradepipe.domain.risk.context import (
    Account,
    Asset,
    Holding,
    MarketClock,
    RiskContext,
    SymbolHistory,
    TradingState,
)
from tradepipe.domain.risk.engine import Approved, Deferred, assess
from tradepipe.domain.risk.profile import RiskProfile

NOW = datetime(2024, 1, 2, 15, 7, tzinfo=UTC)
D = Decimal


def _signal(**over: Any) -> Signal:
    base: dict[str, Any] = {"entry": "100", "stop": "98", "target": "104", "risk": "100"}
    fields = {k: over.pop(k) for k in list(over) if k in base or k in ("side", "mode")}
    return build_signal(**{**base, **fields}, alert_time=NOW, timeframe="5", **over)


def _ctx(**over: Any) -> RiskContext:
    base = RiskContext(
        account=Account(
            equity=D(100_000), last_equity=D(100_000), buying_power=D(200_000), high_water_mark=D(100_000)
        ),
        holdings={},
        state=TradingState.ACTIVE,
        clock=MarketClock(is_open=True),
        asset=Asset(fractionable=True),
        atr=D(4),
        last_price=D(100),
    )
    return replace(base, **over)


def _account(**over: Any) -> Account:
    return replace(_ctx().account, **over)


PROFILE = RiskProfile()
EXIT = {"action": Action.EXIT, "side": None, "sizing_mode": None, "sizing_value": None}

SCENARIOS = [
    # id, signal overrides, context overrides, profile overrides, expected qty or reason, text in detail/caps
    ("risk-dollars", {}, {}, {}, D(50), None),
    ("sell-mirrors-buy", {"side": Side.SELL, "stop": "102", "target": "96"}, {}, {}, D(50), None),
    (
        "risk-percent-of-equity",
        {"sizing_mode": SizingMode.RISK_PERCENT, "sizing_value": D("0.1")},
        {},
        {},
        D(50),
        None,
    ),
    (
        "fixed-quantity",
        {"sizing_mode": SizingMode.FIXED_QUANTITY, "sizing_value": D(30)},
        {},
        {},
        D(30),
        None,
    ),
    (
        "dollar-amount",
        {"sizing_mode": SizingMode.DOLLAR_AMOUNT, "sizing_value": D(2550)},
        {},
        {},
        D(25),
        None,
    ),
    (
        "percent-of-equity",
        {"sizing_mode": SizingMode.PERCENT_OF_EQUITY, "sizing_value": D(1)},
        {},
        {},
        D(10),
        None,
    ),
    (
        "fractional-without-exits",
        {"sizing_mode": SizingMode.DOLLAR_AMOUNT, "sizing_value": D(2550), "stop": None, "target": None},
        {"atr": None},
        {"fractional": True, "stop_required": False},
        D("25.5"),
        None,
    ),
    (
        "whole-shares-with-a-bracket",
        {"sizing_mode": SizingMode.DOLLAR_AMOUNT, "sizing_value": D(2550)},
        {},
        {"fractional": True},
        D(25),
        None,
    ),
    (
        "whole-shares-when-asset-not-fractionable",
        {"sizing_mode": SizingMode.DOLLAR_AMOUNT, "sizing_value": D(2550), "stop": None, "target": None},
        {"atr": None, "asset": Asset(fractionable=False)},
        {"fractional": True, "stop_required": False},
        D(25),
        None,
    ),
    (
        "cap-max-notional",
        {},
        {},
        {"max_notional_per_position": D(3000)},
        D(30),
        "max_notional_per_position: qty 50 -> 30",
    ),
    (
        "cap-max-equity-pct",
        {},
        {},
        {"max_equity_pct_per_position": D(1)},
        D(10),
        "max_equity_pct_per_position",
    ),
    (
        "cap-buying-power-with-cushion",
        {},
        {"account": _account(buying_power=D(2060))},
        {},
        D(20),
        "buying_power",
    ),
    (
        "cap-gross-exposure",
        {},
        {"holdings": {"MSFT": Holding(D(3000), D(99_000))}},
        {},
        D(10),
        "max_gross_exposure_pct",
    ),
    (
        "cap-counts-the-same-side-position",
        {},
        {"holdings": {"AAPL": Holding(D(190), D(19_000))}},
        {},
        D(10),
        "max_equity_pct_per_position: qty 50 -> 10",
    ),
    (
        "cap-leaves-nothing",
        {},
        {"account": _account(buying_power=D(50))},
        {},
        RejectReason.CAPPED_TO_ZERO,
        "buying_power",
    ),
    (
        "max-open-positions",
        {},
        {"holdings": {"MSFT": Holding(D(10), D(300))}},
        {"max_open_positions": 1},
        RejectReason.MAX_OPEN_POSITIONS,
        "1 open positions",
    ),
    (
        "adding-to-a-position-is-not-a-new-one",
        {},
        {"holdings": {"AAPL": Holding(D(10), D(1000))}},
        {"max_open_positions": 1},
        D(50),
        None,
    ),
    ("halted-blocks-entries", {}, {"state": TradingState.HALTED}, {}, RejectReason.TRADING_HALTED, "HALTED"),
    ("halted-blocks-exits", EXIT, {"state": TradingState.HALTED}, {}, RejectReason.TRADING_HALTED, "nothing"),
    (
        "reducing-blocks-entries",
        {},
        {"state": TradingState.REDUCING},
        {},
        RejectReason.TRADING_REDUCING,
        "exits only",
    ),
    ("reducing-lets-exits-through", EXIT, {"state": TradingState.REDUCING}, {}, None, None),
    (
        "daily-loss-limit-switches-to-reducing",
        {},
        {"account": _account(equity=D(96_500))},
        {},
        RejectReason.TRADING_REDUCING,
        "exits only",
    ),
    (
        "max-drawdown-switches-to-halted",
        {},
        {"account": _account(high_water_mark=D(120_000))},
        {},
        RejectReason.TRADING_HALTED,
        "HALTED",
    ),
    (
        "losing-streak-switches-to-reducing",
        {},
        {"losing_streak": 5},
        {},
        RejectReason.TRADING_REDUCING,
        "exits only",
    ),
    (
        "deny-list",
        {},
        {},
        {"deny_symbols": frozenset({"AAPL"})},
        RejectReason.SYMBOL_NOT_ALLOWED,
        "AAPL is not allowed",
    ),
    (
        "allow-list-without-the-symbol",
        {},
        {},
        {"allow_symbols": frozenset({"MSFT"})},
        RejectReason.SYMBOL_NOT_ALLOWED,
        "not allowed",
    ),
    ("allow-list-with-the-symbol", {}, {}, {"allow_symbols": frozenset({"AAPL"})}, D(50), None),
    (
        "asset-not-tradable",
        {},
        {"asset": Asset(tradable=False)},
        {},
        RejectReason.ASSET_NOT_TRADABLE,
        "not tradable",
    ),
    (
        "short-sale-not-allowed",
        {"side": Side.SELL, "stop": "102", "target": "96"},
        {"asset": Asset(shortable=False)},
        {},
        RejectReason.NOT_SHORTABLE,
        "cannot be sold short",
    ),
    (
        "cooldown-after-stop-out",
        {},
        {"history": SymbolHistory(last_stop_out_at=NOW - timedelta(minutes=10))},
        {},
        RejectReason.COOLDOWN,
        "300 s left",
    ),
    (
        "cooldown-after-stop-out-expired",
        {},
        {"history": SymbolHistory(last_stop_out_at=NOW - timedelta(minutes=16))},
        {},
        D(50),
        None,
    ),
    (
        "cooldown-after-exit",
        {},
        {"history": SymbolHistory(last_exit_at=NOW - timedelta(seconds=30))},
        {"cooldown_after_exit_s": 60},
        RejectReason.COOLDOWN,
        "after exit",
    ),
    (
        "one-entry-per-bar",
        {},
        {"history": SymbolHistory(last_entry_bar=NOW.replace(minute=5))},
        {},
        RejectReason.ONE_ENTRY_PER_BAR,
        "5 bar of 2024-01-02T15:05:00+00:00",
    ),
    (
        "next-bar-may-enter",
        {},
        {"history": SymbolHistory(last_entry_bar=NOW.replace(minute=4))},
        {},
        D(50),
        None,
    ),
    (
        "order-rate-limit",
        {},
        {"orders_last_minute": 60},
        {},
        RejectReason.ORDER_RATE_LIMIT,
        "60 orders in the last minute",
    ),
    (
        "market-closed-rejects",
        {},
        {"clock": MarketClock(False, NOW + timedelta(hours=18))},
        {},
        RejectReason.MARKET_CLOSED,
        "next open 2024-01-03T09:07:00+00:00",
    ),
    ("market-closed-exits-still-pass", EXIT, {"clock": MarketClock(False)}, {}, None, None),
    (
        "stop-too-tight-for-atr",
        {"stop": "99.5"},
        {},
        {},
        RejectReason.STOP_TOO_TIGHT,
        "is 0.50 from entry 100 < min_atr 0.5 x ATR 4.0000",
    ),
    (
        "stop-too-wide-for-atr",
        {"stop": "81"},
        {"atr": D(3)},
        {},
        RejectReason.STOP_TOO_WIDE,
        "> max_atr 5 x ATR 3.0000",
    ),
    ("stop-derived-from-atr", {"stop": None}, {}, {}, D(12), None),
    ("no-stop-and-no-atr", {"stop": None}, {"atr": None}, {}, RejectReason.STOP_REQUIRED, "no ATR available"),
    (
        "entry-from-latest-price",
        {"entry": None, "stop": None, "target": None},
        {},
        {"reward_risk": D(2)},
        D(12),
        None,
    ),
    (
        "no-entry-anywhere",
        {"entry": None},
        {"last_price": None},
        {},
        RejectReason.ENTRY_PRICE_UNKNOWN,
        "no latest price",
    ),
    ("stop-on-the-wrong-side", {"stop": "101"}, {}, {}, RejectReason.STOP_WRONG_SIDE, "stop=101"),
    ("risk-too-small", {"risk": "1"}, {}, {}, RejectReason.SIZE_BELOW_ONE_SHARE, "below 1"),
]


def _build(
    sig: dict[str, Any], ctx: dict[str, Any], prof: dict[str, Any]
) -> tuple[Signal, RiskContext, RiskProfile]:
    sig = dict(sig)
    entry = sig.pop("entry", "100")
    return (
        _signal(entry=entry, **sig)
        if entry is not None
        else _signal(entry="1", **sig).model_copy(update={"entry_price": None}),
        _ctx(**ctx),
        RiskProfile(**{**PROFILE.model_dump(), **prof}),
    )


@pytest.mark.parametrize(
    ("sig", "ctx", "prof", "expected", "text"), [pytest.param(*s[1:], id=s[0]) for s in SCENARIOS]
)
def test_assess_scenario_then_expected_decision_and_reason(
    sig: dict[str, Any],
    ctx: dict[str, Any],
    prof: dict[str, Any],
    expected: Decimal | RejectReason | None,
    text: str | None,
) -> None:
    signal, context, profile = _build(sig, ctx, prof)

    decision = assess(signal, context, profile, NOW).decision

    if isinstance(expected, RejectReason):
        assert isinstance(decision, Rejected), decision
        assert decision.reason is expected
        assert text is not None
        assert text in decision.detail
    else:
        assert isinstance(decision, Approved), decision
        assert decision.qty == expected
        if text:
            assert any(text in cap.note() for cap in decision.caps), decision.caps


def test_assess_when_market_closed_and_profile_queues_then_deferred_to_the_open() -> None:
    opens = NOW + timedelta(hours=18)

    decision = assess(
        _signal(), _ctx(clock=MarketClock(False, opens)), RiskProfile(outside_hours="queue"), NOW
    ).decision

    assert decision == Deferred(opens, f"market closed: queued for the open at {opens.isoformat()}")


def test_assess_when_atr_derives_exits_then_stop_and_reward_risk_target() -> None:
    decision = assess(_signal(stop=None, target=None), _ctx(), RiskProfile(reward_risk=D(2)), NOW).decision

    assert isinstance(decision, Approved)
    assert (decision.exits.stop, decision.exits.target) == (D("92.00"), D("116.00"))
    assert decision.risk == D(96)  # 12 shares x 8


def test_assess_when_numbers_breach_then_switch_reported_with_rule_and_numbers() -> None:
    outcome = assess(_signal(), _ctx(account=_account(high_water_mark=D(125_000))), PROFILE, NOW)

    assert outcome.switch is not None
    assert (outcome.switch.to, outcome.switch.rule) == (TradingState.HALTED, "max_drawdown")
    assert "20.00%" in outcome.switch.detail


def test_assess_never_lifts_a_state_by_itself() -> None:
    assert assess(_signal(), _ctx(state=TradingState.HALTED), PROFILE, NOW).switch is None


# --- properties ------------------------------------------------------------------------------------------

prices = st.decimals(min_value=D("1.00"), max_value=D("2000"), places=2)
amounts = st.decimals(min_value=D("1"), max_value=D("1000000"), places=2)
modes = st.sampled_from(list(SizingMode))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Signal, RiskContext, RiskProfile]:
    side = draw(st.sampled_from(list(Side)))
    entry = draw(prices)
    distance = draw(st.decimals(min_value=D("0.01"), max_value=entry / 2, places=2))
    stop = entry - distance if side is Side.BUY else entry + distance
    with_stop = draw(st.booleans())
    mode = draw(modes)
    value = (
        draw(st.decimals(min_value=D("0.01"), max_value=D(50), places=2))
        if mode in (SizingMode.RISK_PERCENT, SizingMode.PERCENT_OF_EQUITY)
        else draw(amounts)
    )
    signal = _signal(
        side=side,
        entry=str(entry),
        stop=str(stop) if with_stop else None,
        target=None,
        sizing_mode=mode,
        sizing_value=value,
    )
    equity = draw(amounts)
    holdings = {
        t: Holding(D(1), draw(st.decimals(min_value=D(-50000), max_value=D(50000), places=2)))
        for t in draw(st.lists(st.sampled_from(["MSFT", "IBM", "AAPL"]), unique=True, max_size=3))
    }
    ctx = _ctx(
        account=Account(
            equity=equity, last_equity=equity, buying_power=draw(amounts), high_water_mark=equity
        ),
        holdings=holdings,
        atr=draw(st.none() | st.decimals(min_value=D("0.01"), max_value=D(50), places=2)),
        asset=Asset(fractionable=draw(st.booleans())),
        state=draw(st.sampled_from(list(TradingState))),
    )
    profile = RiskProfile(
        max_notional_per_position=draw(st.none() | amounts),
        fractional=draw(st.booleans()),
        max_equity_pct_per_position=draw(st.none() | st.decimals(min_value=D(1), max_value=D(100), places=1)),
        max_gross_exposure_pct=draw(st.none() | st.decimals(min_value=D(1), max_value=D(400), places=1)),
        min_atr=None,
        max_atr=None,
        max_open_positions=None,
        daily_loss_limit_pct=None,
        max_drawdown_pct=None,
    )
    return signal, ctx, profile


@settings(max_examples=400, deadline=None)
@given(case=cases())
def test_property_sizes_never_over_risk_never_over_a_cap_never_a_bad_quantity(
    case: tuple[Signal, RiskContext, RiskProfile],
) -> None:
    signal, ctx, profile = case

    decision = assess(signal, ctx, profile, NOW).decision

    if not isinstance(decision, Approved) or decision.qty is None:
        return
    qty, entry = decision.qty, decision.entry
    assert entry is not None
    assert qty > 0
    assert qty.is_finite()
    if not decision.fractional:
        assert qty == qty.to_integral_value()
    if decision.exits.stop is not None or decision.exits.target is not None:
        assert not decision.fractional  # no fractional bracket
    requested = signal.sizing_value or D(0)
    if signal.sizing_mode is SizingMode.RISK_DOLLARS:
        assert decision.risk is not None
        assert decision.risk <= requested
    if signal.sizing_mode is SizingMode.RISK_PERCENT:
        assert decision.risk is not None
        assert decision.risk <= ctx.account.equity * requested / 100
    if signal.sizing_mode is SizingMode.FIXED_QUANTITY:
        assert qty <= requested
    if signal.sizing_mode is SizingMode.DOLLAR_AMOUNT:
        assert qty * entry <= requested
    notional = qty * entry
    held = ctx.holdings.get(signal.ticker)
    same = held is not None and (held.qty > 0) == (signal.side is Side.BUY)
    existing = abs(held.market_value) if held is not None and same else D(0)
    if profile.max_notional_per_position is not None:
        assert notional + existing <= profile.max_notional_per_position
    if profile.max_equity_pct_per_position is not None:
        assert notional + existing <= ctx.account.equity * profile.max_equity_pct_per_position / 100
    assert notional * (1 + profile.buying_power_cushion_pct / 100) <= ctx.account.buying_power


@settings(max_examples=200, deadline=None)
@given(case=cases(), action=st.sampled_from(list(Action)))
def test_property_halted_lets_nothing_through_and_reducing_only_exits(
    case: tuple[Signal, RiskContext, RiskProfile], action: Action
) -> None:
    signal, ctx, profile = case
    signal = signal.model_copy(update={"action": action})

    decision = assess(signal, ctx, profile, NOW).decision

    if ctx.state is TradingState.HALTED:
        assert isinstance(decision, Rejected)
    if ctx.state is TradingState.REDUCING and action is Action.ENTER:
        assert isinstance(decision, Rejected)
    if ctx.state is not TradingState.HALTED and action is not Action.ENTER:
        assert isinstance(decision, Approved)
