"""assess: one signal, the context, the strategy's profile and the time -> a decision with its reasons.

Order of checks (the first that fails names the rejection): trading state -> symbol rules -> cooldown ->
one entry per bar -> order rate -> market clock -> entry price -> ATR stop rule -> exit sides -> sizing ->
caps. Caps shrink the quantity and are each recorded when they bite; a cap that leaves nothing rejects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from tradepipe.domain.collar import Collar, collar_width, marketable_limit
from tradepipe.domain.exits import (
    Exits,
    check_exit_sides,
    resolve_exits,
    resolve_stop_limit,
    risk_per_share,
    round_away,
    round_entry,
    round_target,
    tick_for,
)
from tradepipe.domain.model import (
    Action,
    CapApplied,
    OrderType,
    Rejected,
    RejectReason,
    Side,
    Signal,
    SizingMode,
)
from tradepipe.domain.order_rules import EntryOrder, validate_order
from tradepipe.domain.risk.bars import bar_start
from tradepipe.domain.risk.context import RiskContext, TradingState
from tradepipe.domain.risk.profile import RiskProfile
from tradepipe.domain.risk.state import StateSwitch, next_state

_HUNDRED = Decimal(100)
FRACTION_STEP = Decimal("0.000001")  # Alpaca takes up to 9 decimals; 6 is plenty for stocks
_CENT = Decimal("0.01")
_RISK_MODES = frozenset({SizingMode.RISK_DOLLARS, SizingMode.RISK_PERCENT})


@dataclass(frozen=True)
class Approved:
    qty: Decimal | None  # None for exits and cancels: the position decides
    entry: Decimal | None = None
    exits: Exits = Exits(None, None)
    fractional: bool = False
    caps: tuple[CapApplied, ...] = ()  # each cap that bit, in the order applied
    risk: Decimal | None = None  # realized risk at the stop (qty x |entry - stop|)
    limit_price: Decimal | None = None  # a limit entry's price, on the tick grid
    # A market alert sent as a marketable limit at the alert price +/- the profile's collar (issue 19):
    # the executor re-sizes it against the quote and cancels it past entry_timeout_s.
    collared: bool = False
    # The risk budget in dollars of an entry sized from one (risk dollars, risk % of equity): what the
    # executor keeps it within at the quote. None for a fixed quantity, notional or % of equity: the
    # trader's size, never shrunk for the quote.
    risk_budget: Decimal | None = None

    @property
    def time_in_force(self) -> Literal["day", "gtc"]:
        # Alpaca: fractional orders are day orders; whole-share entries with legs rest until filled.
        return "day" if self.fractional else "gtc"


@dataclass(frozen=True)
class Deferred:
    """Outside regular hours with outside_hours=queue: wait for the open."""

    until: datetime | None
    detail: str


@dataclass(frozen=True)
class Assessment:
    decision: Approved | Deferred | Rejected
    switch: StateSwitch | None = None  # a trading-state change the account's numbers call for


def assess(signal: Signal, ctx: RiskContext, profile: RiskProfile, now: datetime) -> Assessment:
    switch = next_state(ctx.state, ctx.account, ctx.losing_streak, profile)
    state = switch.to if switch else ctx.state
    return Assessment(_decide(signal, replace(ctx, state=state), profile, now), switch)


def _decide(
    signal: Signal, ctx: RiskContext, profile: RiskProfile, now: datetime
) -> Approved | Deferred | Rejected:
    if ctx.state is TradingState.HALTED:
        return Rejected(RejectReason.TRADING_HALTED, "trading is HALTED: nothing goes through")
    if signal.action is not Action.ENTER:
        return Approved(qty=None)
    if ctx.state is TradingState.REDUCING:
        return Rejected(RejectReason.TRADING_REDUCING, "trading is REDUCING: exits only")
    return (
        _check_symbol(signal, ctx, profile)
        or _check_cooldown(ctx, profile, now)
        or _check_bar(signal, ctx, profile)
        or _check_rate(ctx, profile)
        or _check_clock(ctx, profile)
        or _size(signal, ctx, profile)
    )


def _check_symbol(signal: Signal, ctx: RiskContext, profile: RiskProfile) -> Rejected | None:
    ticker = signal.ticker
    if ticker in profile.deny_symbols or (
        profile.allow_symbols is not None and ticker not in profile.allow_symbols
    ):
        return Rejected(
            RejectReason.SYMBOL_NOT_ALLOWED, f"{ticker} is not allowed for strategy {signal.strategy}"
        )
    if not ctx.asset.tradable:
        return Rejected(RejectReason.ASSET_NOT_TRADABLE, f"{ticker} is not tradable at the broker")
    # A SELL entry opens (or, while long, reverses into) a short; closing a long is an EXIT.
    if signal.side is Side.SELL and not ctx.asset.shortable:
        return Rejected(RejectReason.NOT_SHORTABLE, f"{ticker} cannot be sold short")
    return None


def _check_cooldown(ctx: RiskContext, profile: RiskProfile, now: datetime) -> Rejected | None:
    for since, seconds, what in (
        (ctx.history.last_stop_out_at, profile.cooldown_after_stop_s, "stop-out"),
        (ctx.history.last_exit_at, profile.cooldown_after_exit_s, "exit"),
    ):
        if since is not None and seconds and now < since + timedelta(seconds=seconds):
            left = (since + timedelta(seconds=seconds) - now).total_seconds()
            return Rejected(
                RejectReason.COOLDOWN, f"cooldown after {what} at {since.isoformat()}: {left:.0f} s left"
            )
    return None


def _check_bar(signal: Signal, ctx: RiskContext, profile: RiskProfile) -> Rejected | None:
    last = ctx.history.last_entry_bar
    if not profile.one_entry_per_bar or last is None or signal.alert_time is None:
        return None
    bar = bar_start(signal.alert_time, signal.timeframe)
    if bar_start(last, signal.timeframe) == bar:
        return Rejected(
            RejectReason.ONE_ENTRY_PER_BAR,
            f"already entered {signal.ticker} for {signal.strategy} "
            f"in the {signal.timeframe} bar of {bar.isoformat()}",
        )
    return None


def _check_rate(ctx: RiskContext, profile: RiskProfile) -> Rejected | None:
    if ctx.orders_last_minute >= profile.max_orders_per_minute:
        return Rejected(
            RejectReason.ORDER_RATE_LIMIT,
            f"{ctx.orders_last_minute} orders in the last minute >= {profile.max_orders_per_minute}",
        )
    return None


def _check_clock(ctx: RiskContext, profile: RiskProfile) -> Deferred | Rejected | None:
    if ctx.clock.is_open:
        return None
    opens = ctx.clock.next_open.isoformat() if ctx.clock.next_open else "unknown"
    if profile.outside_hours == "queue":
        return Deferred(ctx.clock.next_open, f"market closed: queued for the open at {opens}")
    # Never a market order in extended hours: outside regular hours an entry waits or is refused.
    return Rejected(RejectReason.MARKET_CLOSED, f"market closed; next open {opens}")


def _exits_with_atr(
    signal: Signal, side: Side, entry: Decimal, ctx: RiskContext, profile: RiskProfile
) -> Exits | Rejected:
    exits = resolve_exits(signal, entry, side)
    wrong = check_exit_sides(side, entry, exits)
    if wrong is not None:
        return wrong
    atr = ctx.atr if ctx.atr is not None and ctx.atr > 0 else None
    alert_stop = exits.stop  # the alert's own (absolute or percent); ATR bounds judge only these
    if exits.stop is None:
        if atr is not None and profile.atr_stop:
            offset = Decimal(profile.atr_stop) * atr
            stop = round_away(entry - offset if side is Side.BUY else entry + offset, entry, side)
            exits = Exits(stop=stop, target=exits.target)
        elif profile.stop_required or signal.sizing_mode in (
            SizingMode.RISK_DOLLARS,
            SizingMode.RISK_PERCENT,
        ):
            why = "no ATR available" if atr is None else "no ATR stop rule (atr_stop)"
            return Rejected(RejectReason.STOP_REQUIRED, f"no stop in the alert and {why}; entry={entry}")
        else:
            return exits  # the profile sends entries without a stop (stop_required = false)
    # An impossible stop is named as such before any ATR judgement of it (a typo is not "too wide").
    invalid = check_stop_distance(exits.stop, entry, profile)
    if invalid is not None:
        return invalid
    if atr is not None and alert_stop is not None:
        too = _check_stop_vs_atr(alert_stop, entry, atr, profile)
        if too is not None:
            return too
    if exits.target is None and profile.reward_risk and exits.stop is not None:
        reach = profile.reward_risk * abs(entry - exits.stop)
        exits = Exits(
            stop=exits.stop, target=round_target(entry + reach if side is Side.BUY else entry - reach, side)
        )
    return exits


def _check_stop_vs_atr(stop: Decimal, entry: Decimal, atr: Decimal, profile: RiskProfile) -> Rejected | None:
    distance = abs(entry - stop)
    if profile.min_atr and distance < profile.min_atr * atr:
        return Rejected(
            RejectReason.STOP_TOO_TIGHT,
            f"stop {stop} is {distance} from entry {entry} < min_atr {profile.min_atr} x ATR {atr:.4f}",
        )
    if profile.max_atr and distance > profile.max_atr * atr:
        return Rejected(
            RejectReason.STOP_TOO_WIDE,
            f"stop {stop} is {distance} from entry {entry} > max_atr {profile.max_atr} x ATR {atr:.4f}",
        )
    return None


def check_stop_distance(stop: Decimal | None, entry: Decimal, profile: RiskProfile) -> Rejected | None:
    """A stop at or below zero, or farther from the entry than `max_stop_pct`, is a typo, a gap or an ATR
    from the wrong bars (entry 50 with ATR 30 gives a stop of -10): never sent, whatever its source."""
    if stop is None:
        return None
    if stop <= 0:
        return Rejected(RejectReason.STOP_INVALID, f"stop {stop} <= 0 for entry {entry}")
    pct = abs(entry - stop) / entry * _HUNDRED
    if profile.max_stop_pct is not None and pct > profile.max_stop_pct:
        return Rejected(
            RejectReason.STOP_INVALID,
            f"stop {stop} is {pct:.2f}% from entry {entry} > max_stop_pct {profile.max_stop_pct}%",
        )
    return None


def _raw_qty(
    signal: Signal, ctx: RiskContext, profile: RiskProfile, entry: Decimal, per_share: Decimal | None
) -> Decimal | Rejected:
    mode, value = signal.sizing_mode, signal.sizing_value
    equity = ctx.account.equity
    if mode is SizingMode.RISK_PERCENT or (mode is None and profile.risk_percent_default is not None):
        pct = value if mode is SizingMode.RISK_PERCENT and value is not None else profile.risk_percent_default
        mode, value = SizingMode.RISK_DOLLARS, equity * (pct or Decimal(0)) / _HUNDRED
    if value is None or mode is None:
        return Rejected(
            RejectReason.SIZING_MODE_UNSUPPORTED, "no quantity or risk in the alert and no default"
        )
    if mode is SizingMode.RISK_DOLLARS:
        if not per_share:
            return Rejected(RejectReason.STOP_REQUIRED, f"risk sizing needs a stop; entry={entry}")
        return value / per_share
    if mode is SizingMode.FIXED_QUANTITY:
        return value
    if mode is SizingMode.DOLLAR_AMOUNT:
        return value / entry
    return equity * value / _HUNDRED / entry  # PERCENT_OF_EQUITY


def _size(signal: Signal, ctx: RiskContext, profile: RiskProfile) -> Approved | Rejected:
    side = signal.side or Side.BUY
    # Prices go on Alpaca's grid before anything is sized, reserved or counted: a limit never worse than
    # asked; stops and targets away from the entry (resolve_exits).
    limit = None if signal.limit_price is None else round_entry(signal.limit_price, side)
    entry = (limit if signal.order_type is OrderType.LIMIT else signal.entry_price) or ctx.last_price
    if entry is None:
        return Rejected(RejectReason.ENTRY_PRICE_UNKNOWN, "no price in the alert and no latest price")
    exits = _exits_with_atr(signal, side, entry, ctx, profile)
    if isinstance(exits, Rejected):
        return exits
    per_share = (
        None
        if exits.stop is None
        else risk_per_share(entry, exits.stop, resolve_stop_limit(signal, entry, side))
    )
    raw = _raw_qty(signal, ctx, profile, entry, per_share)
    if isinstance(raw, Rejected):
        return raw
    # Fractional shares only without exit legs (Alpaca: no bracket, day orders) on fractionable assets.
    fractional = profile.fractional and ctx.asset.fractionable and exits.stop is None and exits.target is None
    step = FRACTION_STEP if fractional else Decimal(1)
    qty = _floor(raw, step)
    if qty <= 0:
        return Rejected(
            RejectReason.SIZE_BELOW_ONE_SHARE, f"sized {raw:.6f} shares at entry {entry}: below {step}"
        )
    capped = apply_caps(signal.ticker, side, qty, entry, ctx, profile, step)
    if isinstance(capped, Rejected):
        return capped
    qty, caps = capped
    risk = None if per_share is None else per_share * qty
    order_type = signal.order_type
    if order_type is OrderType.MARKET and profile.entry_order == "marketable_limit":
        collar = entry_collar(side, entry, profile, ctx.atr, exits.target)
        if isinstance(collar, Rejected):
            return collar
        order_type, limit = OrderType.LIMIT, collar
    approved = Approved(
        qty=qty,
        entry=entry,
        exits=exits,
        fractional=fractional,
        caps=caps,
        risk=risk,
        limit_price=limit,
        collared=order_type is not signal.order_type,
        # raw x per share is the alert's risk dollars (or % of equity in dollars), to the cent.
        risk_budget=(raw * per_share).quantize(_CENT) if per_share and _risk_sized(signal, profile) else None,
    )
    # Alpaca's leg rules (legs >= $0.01 beyond the base price, fractional day orders only...) before the
    # entry reserves anything: what the broker would refuse must not spend a counter.
    broken = validate_order(
        EntryOrder(
            side=side,
            qty=qty,
            order_type=order_type,
            time_in_force=approved.time_in_force,
            limit_price=limit,
            reference_price=entry,
            take_profit=exits.target,
            stop_loss=exits.stop,
            stop_limit_price=None if exits.stop is None else resolve_stop_limit(signal, entry, side),
        )
    )
    return broken or approved


def _risk_sized(signal: Signal, profile: RiskProfile) -> bool:
    mode = signal.sizing_mode
    return mode in _RISK_MODES or (mode is None and profile.risk_percent_default is not None)


def entry_collar(
    side: Side, entry: Decimal, profile: RiskProfile, atr: Decimal | None, target: Decimal | None
) -> Decimal | Rejected:
    """The marketable limit of a market alert: the alert's price +/- the profile's collar, on the tick grid
    (domain/collar.py). Alpaca: a limit order "will only be executed at your specified limit price or
    better" ("Orders at Alpaca", Limit Order), so the trader never pays beyond the collar. A limit entry's
    legs are checked against the limit (`order_rules.validate_order`: the take-profit >= $0.01 beyond the
    base price), so a target inside the collar narrows it to one tick short of the target, never past the
    alert's price."""
    atr_fraction = profile.collar_atr_fraction or None  # 0 in TOML: bps only
    width = collar_width(entry, Collar(bps=profile.collar_bps, atr_fraction=atr_fraction), atr)
    try:
        limit = marketable_limit(side, entry, width or Decimal(0))
    except ValueError as exc:
        return Rejected(RejectReason.ORDER_INVALID, str(exc))
    if target is None:
        return limit
    if side is Side.BUY:
        return max(entry, min(limit, target - tick_for(target)))
    return min(entry, max(limit, target + tick_for(target)))


def _floor(value: Decimal, step: Decimal) -> Decimal:
    """Round down onto the step (1 share, or a fractional step): never more than was sized."""
    return ((value / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(step)


def apply_caps(
    ticker: str,
    side: Side,
    qty: Decimal,
    entry: Decimal,
    ctx: RiskContext,
    profile: RiskProfile,
    step: Decimal,
) -> tuple[Decimal, tuple[CapApplied, ...]] | Rejected:
    equity = ctx.account.equity
    held = ctx.holdings.get(ticker)
    same_side = held is not None and (held.qty > 0) == (side is Side.BUY) and held.qty != 0
    existing = abs(held.market_value) if (held is not None and same_side) else Decimal(0)
    opposite = abs(held.market_value) if (held is not None and not same_side) else Decimal(0)
    if not same_side and profile.max_open_positions is not None:
        open_now = sum(1 for h in ctx.holdings.values() if h.qty != 0) - (1 if opposite else 0)
        if open_now >= profile.max_open_positions:
            why = f"{open_now} open positions >= max_open_positions {profile.max_open_positions}"
            cap = CapApplied(cap="max_open_positions", qty_before=qty, qty_after=Decimal(0), limit=why)
            return Rejected(RejectReason.MAX_OPEN_POSITIONS, why, caps=(cap,))
    limits: list[tuple[str, Decimal, str]] = []
    if profile.max_notional_per_position is not None:
        limits.append(
            (
                "max_notional_per_position",
                profile.max_notional_per_position - existing,
                f"{profile.max_notional_per_position} notional",
            )
        )
    if profile.max_equity_pct_per_position is not None:
        limits.append(
            (
                "max_equity_pct_per_position",
                equity * profile.max_equity_pct_per_position / _HUNDRED - existing,
                f"{profile.max_equity_pct_per_position}% of equity {equity}",
            )
        )
    if profile.max_gross_exposure_pct is not None:
        gross = sum((abs(h.market_value) for h in ctx.holdings.values()), Decimal(0)) - opposite
        limits.append(
            (
                "max_gross_exposure_pct",
                equity * profile.max_gross_exposure_pct / _HUNDRED - gross,
                f"{profile.max_gross_exposure_pct}% of equity, {gross} already exposed",
            )
        )
    cushion = 1 + profile.buying_power_cushion_pct / _HUNDRED
    limits.append(
        (
            "buying_power",
            ctx.account.buying_power / cushion,
            f"buying power {ctx.account.buying_power} with a {profile.buying_power_cushion_pct}% cushion",
        )
    )
    bit: list[CapApplied] = []
    for name, room, why in limits:
        allowed = _floor(max(room, Decimal(0)) / entry, step)
        if qty > allowed:
            bit.append(CapApplied(cap=name, qty_before=qty, qty_after=allowed, limit=why))
            qty = allowed
        if qty <= 0:
            return Rejected(RejectReason.CAPPED_TO_ZERO, "; ".join(c.note() for c in bit), caps=tuple(bit))
    return qty, tuple(bit)
