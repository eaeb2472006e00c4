"""The backtest loop: bars -> strategy alerts -> the webhook's and the risk function's own use cases ->
the simulated broker, one trading day at a time.

Each alert goes through `app.intake.accept_alert` and `app.assess.assess_signal` unchanged, on the in-memory
adapters the unit tests use (signal store, queues, risk state), with the same `RiskConfig`. What live reads
from Alpaca comes from the simulated account instead: equity, last_equity (the previous close's equity),
buying power, holdings marked at today's close, and daily bars up to today (no look-ahead). The OrderIntents
the risk function sends are the orders; the simulated broker fills them at the next open (see broker.py).

Choices a daily-bar backtest has to make, each what live would do at the same moment:
- The market clock is the session's, as live reads it from Alpaca: open 09:30-16:00 New York on the series'
  trading days. A daily chart's alert fires at the close (16:00), when the market is closed, so the
  profile's rule decides as it does live: `outside_hours = "reject"` refuses the entry (MARKET_CLOSED);
  `"queue"` queues it, and at the next session's open the backtest releases it through the live release
  use case (`release_queued_entries`), sizes it then and the simulated broker fills it at that open. Exits
  are not held by the clock (live, Alpaca queues a market close for the open; the simulation fills it
  there too).
- An automatic REDUCING or HALTED switch stays until an operator resumes, as live. `resume="next_session"`
  (the default) models an operator who runs `tradepipe resume` before the next session (it also clears the
  losing streak); `resume="never"` models nobody watching. Every switch and resume is in the result.
- Exits feed the risk history as live records them: a filled close and a filled stop leg (a stop-out) do,
  a filled take-profit leg does not (the reconciler records stop-outs only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from tradepipe.adapters.memory import FixedClock, MemoryQueue, MemorySignalStore, StaticPassphrases
from tradepipe.adapters.memory_risk import MemoryEventPublisher, MemoryRiskStateStore
from tradepipe.adapters.risk_keys import StateChange
from tradepipe.analytics.backtest.bars import BarSeries
from tradepipe.analytics.backtest.broker import Costs, OrderRequest, SimulatedBroker
from tradepipe.analytics.backtest.pipeline import IntakeLimits
from tradepipe.analytics.backtest.strategy import SmaCross, StrategyAlert
from tradepipe.analytics.equity import EquityPoint
from tradepipe.analytics.fills import ZERO, Fill
from tradepipe.analytics.indicators import average_true_range
from tradepipe.app.assess import RiskDeps, assess_signal
from tradepipe.app.intake import AlertRequest, IntakeDeps, accept_alert
from tradepipe.app.minute_schedule import ReleaseDeps, release_queued_entries
from tradepipe.contracts.items import SignalItem, StatusUpdate
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Mode, SignalStatus
from tradepipe.domain.risk.bars import data_timeframe
from tradepipe.domain.risk.context import TradingState
from tradepipe.domain.risk.profile import RiskConfig
from tradepipe.ports.broker import AccountView, AssetView, BrokerOrder, ClockView, FillView, HoldingView
from tradepipe.ports.market_data import DailyBar

# The strategy's passphrase stays empty (as the Pine input defaults); the alert authenticates by path token.
_PATH_TOKEN = "backtest"  # noqa: S105 - a local token between two in-process objects, not a credential
_NEW_YORK = ZoneInfo("America/New_York")
_SESSION_OPEN, _SESSION_CLOSE = time(9, 30), time(16, 0)
ACCOUNT = Mode.PAPER


def session_open(day: date) -> datetime:
    return datetime.combine(day, _SESSION_OPEN, _NEW_YORK)


@dataclass(frozen=True)
class BacktestSpec:
    initial_cash: Decimal = Decimal(100_000)
    costs: Costs = field(default_factory=Costs)
    resume: Literal["next_session", "never"] = "next_session"
    intake: IntakeLimits = field(default_factory=IntakeLimits)
    # Alpaca's overnight Reg T buying power: (equity x 2 - gross exposure).
    margin_multiplier: Decimal = Decimal(2)
    dedupe_ttl_s: int = 7 * 24 * 3600


@dataclass
class BacktestResult:
    strategy: str
    tickers: list[str]
    alerts: list[StrategyAlert]
    signals: list[SignalItem]  # as the signals table would hold them, in alert order
    intents: list[OrderIntent]  # what the risk function sent to the executor: the orders
    fills: list[Fill]
    equity: list[EquityPoint]
    switches: list[StateChange]
    closes_with_nothing: int  # close intents that found no position (live: COMPLETED)
    bars: int

    @property
    def accepted(self) -> list[SignalItem]:
        return [s for s in self.signals if any(h.status is SignalStatus.SIZED for h in s.history)]

    @property
    def rejected(self) -> list[SignalItem]:
        return [s for s in self.signals if s.status is SignalStatus.REJECTED]


class _SimulatedAlpaca:
    """The simulated account seen through the Broker port: what `gather_context` reads. Orders never go
    through here; the loop hands the risk function's intents to the simulated broker itself."""

    def __init__(
        self, sim: SimulatedBroker, spec: BacktestSpec, clock: FixedClock, trading_days: Sequence[date]
    ) -> None:
        self.mode = ACCOUNT
        self._clock = clock
        self._days = sorted(trading_days)
        self._sim = sim
        self._spec = spec
        self.last_equity = spec.initial_cash

    def account(self) -> AccountView:
        equity = self._sim.equity()
        power = max(equity * self._spec.margin_multiplier - self._sim.gross_exposure(), ZERO)
        return AccountView(equity=equity, last_equity=self.last_equity, buying_power=power)

    def holdings(self) -> dict[str, HoldingView]:
        return {
            t: HoldingView(qty=p.qty, market_value=self._sim.market_value(t), avg_entry_price=p.avg_entry)
            for t, p in self._sim.positions.items()
            if p.qty != 0
        }

    def clock(self) -> ClockView:
        """Regular hours on the series' trading days (no early closes: daily bars do not carry them)."""
        now = self._clock.now().astimezone(_NEW_YORK)
        day = now.date()
        trading = day in set(self._days)
        if trading and session_open(day) <= now < datetime.combine(day, _SESSION_CLOSE, _NEW_YORK):
            return ClockView(is_open=True, next_open=None)
        if trading and now < session_open(day):
            return ClockView(is_open=False, next_open=session_open(day))
        later = next((d for d in self._days if d > day), None)
        return ClockView(is_open=False, next_open=None if later is None else session_open(later))

    def asset(self, symbol: str) -> AssetView | None:
        return AssetView(tradable=True, fractionable=False, shortable=True)

    def find_order(self, client_order_id: str) -> BrokerOrder | None:
        return None

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        raise NotImplementedError("the backtest executes intents on the simulated broker itself")

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        raise NotImplementedError("the backtest executes intents on the simulated broker itself")

    def submit_stop(
        self, symbol: str, qty: Decimal, side: str, stop_price: Decimal, client_order_id: str
    ) -> BrokerOrder:
        raise NotImplementedError("the backtest executes intents on the simulated broker itself")

    def submit_oco(
        self,
        symbol: str,
        qty: Decimal,
        side: str,
        take_profit: Decimal,
        stop_price: Decimal,
        client_order_id: str,
    ) -> BrokerOrder:
        raise NotImplementedError("the backtest executes intents on the simulated broker itself")

    def cancel_order(self, broker_order_id: str) -> None:
        raise NotImplementedError("the backtest executes intents on the simulated broker itself")

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        return []

    def recent_orders(self, symbol: str, limit: int) -> list[BrokerOrder]:
        return []

    def working_orders(self) -> list[BrokerOrder]:
        return []

    def order_family(self, broker_order_id: str) -> list[BrokerOrder]:
        return []

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        return []

    def fills_since(self, after: datetime) -> list[FillView]:
        return []


class _Brokers:
    def __init__(self, broker: _SimulatedAlpaca) -> None:
        self._broker = broker

    def for_mode(self, mode: Mode) -> _SimulatedAlpaca | None:
        return self._broker if mode is ACCOUNT else None


class _BarsUpToToday:
    """MarketData over the backtest's bars, never past the current day (no look-ahead)."""

    def __init__(self, series: Mapping[str, BarSeries]) -> None:
        self._series = series
        self._today: dict[str, int] = {}

    def move_to(self, ticker: str, index: int) -> None:
        self._today[ticker] = index

    def bars(self, symbol: str, timeframe: str, limit: int) -> list[DailyBar]:
        """The backtest runs on daily bars: a daily timeframe gets them, any other none (ATR unknown)."""
        return self.daily_bars(symbol, limit) if data_timeframe(timeframe) == (1, "Day") else []

    def daily_bars(self, symbol: str, limit: int) -> list[DailyBar]:
        s, last = self._series.get(symbol), self._today.get(symbol)
        if s is None or last is None or limit < 1:
            return []
        first = max(0, last + 1 - limit)
        return [
            DailyBar(
                t=datetime.combine(s.dates[k], time(), UTC),
                o=_price(s.open[k]),
                h=_price(s.high[k]),
                l=_price(s.low[k]),
                c=_price(s.close[k]),
                v=Decimal(int(s.volume[k])),
            )
            for k in range(first, last + 1)
        ]


def _price(value: float) -> Decimal:
    return Decimal(f"{value:.4f}")


def run_backtest(
    series: Sequence[BarSeries],
    strategy: SmaCross,
    config: RiskConfig,
    spec: BacktestSpec | None = None,
    progress: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Replay `series` (one per ticker) through the strategy and the pipeline. Deterministic: no clock,
    randomness or I/O; the same inputs give the same result."""
    spec = spec or BacktestSpec()
    by_ticker = {s.ticker: s for s in series}
    if len(by_ticker) != len(series):
        raise ValueError("one bar series per ticker")
    alerts = sorted(
        (a for s in series for a in strategy.alerts(s)), key=lambda a: (a.at, list(by_ticker).index(a.ticker))
    )
    alerts_by_day: dict[date, list[StrategyAlert]] = {}
    for alert in alerts:
        alerts_by_day.setdefault(alert.day, []).append(alert)

    sim = SimulatedBroker(cash=spec.initial_cash, costs=spec.costs)
    clock = FixedClock()
    alpaca = _SimulatedAlpaca(sim, spec, clock, sorted({d for s in series for d in s.dates}))
    market = _BarsUpToToday(by_ticker)
    store, signal_queue, intent_queue = MemorySignalStore(), MemoryQueue(), MemoryQueue()
    risk_state = MemoryRiskStateStore()
    intake_deps = IntakeDeps(
        secrets=StaticPassphrases(backtest=_PATH_TOKEN),
        store=store,
        queue=signal_queue,
        clock=clock,
        dedupe_ttl_s=spec.dedupe_ttl_s,
        max_lag_s=spec.intake.max_lag_s,
        max_lead_s=spec.intake.max_lead_s,
    )
    risk_deps = RiskDeps(
        store=store,
        intents=intent_queue,
        clock=clock,
        config=config,
        brokers=_Brokers(alpaca),
        trading_state=risk_state,
        history=risk_state,
        reservations=risk_state,
        positions=risk_state,
        queued=risk_state,
        market_data=market,
        events=MemoryEventPublisher(),
        atr=average_true_range,
    )
    loop = _Loop(
        sim,
        alpaca,
        market,
        clock,
        store,
        signal_queue,
        intent_queue,
        risk_state,
        intake_deps,
        risk_deps,
        spec,
    )
    calendar = sorted({d for s in series for d in s.dates})
    index = {t: {d: k for k, d in enumerate(s.dates)} for t, s in by_ticker.items()}
    for day in calendar:
        loop.start_session(day)
        for ticker, s in by_ticker.items():
            k = index[ticker].get(day)
            if k is None:
                continue
            market.move_to(ticker, k)
            sim.on_bar(ticker, day, _price(s.open[k]), _price(s.high[k]), _price(s.low[k]))
            sim.mark(ticker, _price(s.close[k]))
        loop.settle_fills()
        for alert in alerts_by_day.get(day, []):
            loop.handle(alert)
        loop.close_session(day)
        if progress is not None:
            progress(sum(1 for t in by_ticker if day in index[t]))
    signals = [store.items[sid] for sid in loop.signal_order if sid in store.items]
    return BacktestResult(
        strategy=strategy.name,
        tickers=list(by_ticker),
        alerts=alerts,
        signals=signals,
        intents=list(loop.intents),
        fills=list(sim.fills),
        equity=loop.equity,
        switches=risk_state.trading_state_history(ACCOUNT.value),
        closes_with_nothing=loop.closes_with_nothing,
        bars=sum(len(s) for s in series),
    )


@dataclass
class _Loop:
    sim: SimulatedBroker
    alpaca: _SimulatedAlpaca
    market: _BarsUpToToday
    clock: FixedClock
    store: MemorySignalStore
    signal_queue: MemoryQueue
    intent_queue: MemoryQueue
    risk_state: MemoryRiskStateStore
    intake_deps: IntakeDeps
    risk_deps: RiskDeps
    spec: BacktestSpec
    intents: list[OrderIntent] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)
    signal_order: list[str] = field(default_factory=list)
    closes_with_nothing: int = 0
    _settled_fills: int = 0
    _settled_exits: int = 0
    _settled_refusals: int = 0

    def start_session(self, day: date) -> None:
        state = self.risk_state.trading_state(ACCOUNT.value)
        if self.spec.resume == "next_session" and state.state != TradingState.ACTIVE.value:
            at = datetime.combine(day, time(9, 0), _NEW_YORK).astimezone(UTC)
            self.risk_state.set_trading_state(
                ACCOUNT.value,
                TradingState.ACTIVE.value,
                "manual",
                "backtest: operator resumed before the session",
                at,
            )
            self.risk_state.reset_losing_streak(ACCOUNT.value)
        self._release_at_open(day)

    def _release_at_open(self, day: date) -> None:
        """The risk function's minute schedule at the open: entries queued while closed go through risk again
        (sized on today's account, before today's bar fills them at its open)."""
        self.clock.current = session_open(day).astimezone(UTC)
        deps = ReleaseDeps(
            signals=self.store,
            queued=self.risk_state,
            brokers=self.risk_deps.brokers,
            queue=self.signal_queue,
            trading_state=self.risk_state,
        )
        if release_queued_entries(deps):
            self._assess_queued()

    def settle_fills(self) -> None:
        """What the executor and the reconciler record once the broker filled: exits into the risk history,
        and each signal's order outcome into its trail."""
        for event in self.sim.exits[self._settled_exits :]:
            self.risk_state.record_exit(
                ACCOUNT.value, event.ticker, event.strategy, event.at, event.stop_out, event.pnl
            )
        self._settled_exits = len(self.sim.exits)
        for fill in self.sim.fills[self._settled_fills :]:
            if fill.signal_id and fill.order_id.endswith("-open"):
                # In the broker's position now: the entry's reservation is done (as the executor releases it).
                self.risk_state.release(ACCOUNT.value, fill.signal_id, fill.at)
            if fill.signal_id and fill.order_id.endswith(("-open", "-close")):
                self.store.advance(
                    fill.signal_id,
                    StatusUpdate.to(
                        SignalStatus.FILLED,
                        fill.at,
                        f"qty={fill.qty} price={fill.price} (simulated)",
                        filled_qty=fill.qty,
                        filled_avg_price=fill.price,
                    ),
                )
        self._settled_fills = len(self.sim.fills)
        for refusal in self.sim.refusals[self._settled_refusals :]:
            # As the executor: refused before sending, the reservation released, the signal REJECTED.
            at = refusal.order.placed_at or self.clock.current
            self.risk_state.release(ACCOUNT.value, refusal.order.signal_id, at)
            self.store.advance(
                refusal.order.signal_id, StatusUpdate.rejected(at, refusal.reason, refusal.detail)
            )
        self._settled_refusals = len(self.sim.refusals)

    def handle(self, alert: StrategyAlert) -> None:
        self.clock.current = alert.at
        accepted = accept_alert(AlertRequest(raw_body=alert.body, path_token=_PATH_TOKEN), self.intake_deps)
        signal_id = getattr(accepted, "signal_id", None)
        if signal_id is not None and signal_id not in self.signal_order:
            self.signal_order.append(signal_id)
        self._assess_queued()

    def _assess_queued(self) -> None:
        queued: list[SignalAccepted] = list(self.signal_queue.sent)
        self.signal_queue.sent.clear()
        for message in queued:
            outcome = assess_signal(message, self.risk_deps)
            if isinstance(outcome, OrderIntent):
                self._execute(outcome)
        self.intent_queue.sent.clear()

    def _execute(self, intent: OrderIntent) -> None:
        self.intents.append(intent)
        if intent.kind == "cancel":
            self.sim.cancel(intent.symbol)
            self._complete(intent, "cancelled the ticker's open orders (simulated)")
            return
        if (
            intent.kind == "close"
            and self.sim.holding(intent.symbol) is None
            and not self.sim.has_pending(intent.symbol)
        ):
            self.closes_with_nothing += 1
            self._complete(intent, "nothing to close (simulated)")
            return
        self.sim.place(
            OrderRequest(
                order_id=intent.client_order_id,
                signal_id=intent.signal_id,
                strategy=intent.strategy,
                mode=intent.mode.value,
                ticker=intent.symbol,
                purpose="open" if intent.kind == "open" else "close",
                side=intent.side,
                qty=intent.qty,
                stop=intent.stop_loss,
                target=intent.take_profit,
                planned_entry=intent.reference_price,
                placed_at=intent.sized_at,
                limit=intent.limit_price if intent.entry_timeout_s is not None else None,
                risk_budget=intent.risk_budget,
                risk_tolerance_pct=intent.risk_tolerance_pct,
            )
        )

    def _complete(self, intent: OrderIntent, detail: str) -> None:
        self.store.advance(intent.signal_id, StatusUpdate.to(SignalStatus.COMPLETED, intent.sized_at, detail))

    def close_session(self, day: date) -> None:
        equity = self.sim.equity()
        self.equity.append(EquityPoint(day, equity, self.sim.cash, self.sim.invested()))
        self.alpaca.last_equity = equity
