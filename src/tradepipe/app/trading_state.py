"""The manual kill switch: halt, reduce or resume an account (paper or live), recorded and announced."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from tradepipe.app.notices import announce
from tradepipe.contracts.api import TradingStateRequest, TradingStateView
from tradepipe.contracts.events import TradingStateChanged
from tradepipe.domain.model import Mode
from tradepipe.domain.risk.context import TradingState
from tradepipe.domain.risk.state import manual
from tradepipe.ports.clock import Clock
from tradepipe.ports.messaging import EventPublisher
from tradepipe.ports.risk_state import StoredTradingState, TradingStateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StateDeps:
    trading_state: TradingStateStore
    events: EventPublisher
    clock: Clock


def switch_trading_state(
    account: Mode, request: TradingStateRequest, who: str, deps: StateDeps
) -> TradingStateView:
    """A person's decision. Resuming (ACTIVE) also clears the losing streak: the operator has looked at it.
    It does not forgive a drawdown or a daily loss: those rules switch again on the next entry while they
    are breached."""
    now = deps.clock.now()
    to = request.state
    switch = manual(to, who, request.reason)
    account_id = account.value
    stored = deps.trading_state.set_trading_state(account_id, to.value, switch.rule, switch.detail, now)
    if to is TradingState.ACTIVE:
        deps.trading_state.reset_losing_streak(account_id)
    # The switch is recorded: a bus that refuses the notice must not make the operator think it failed.
    announce(
        deps.events,
        TradingStateChanged(
            at=now, account=account, state=to, rule=switch.rule, detail=switch.detail, by=who or None
        ),
    )
    log.warning("trading state set by hand", extra={"account": account_id, "state": to.value, "by": who})
    return _view(account_id, stored)


def trading_state_of(account: Mode, deps: StateDeps) -> TradingStateView:
    return _view(account.value, deps.trading_state.trading_state(account.value))


def _view(account: str, stored: StoredTradingState) -> TradingStateView:
    return TradingStateView(account=account, **dataclasses.asdict(stored))


def halted_accounts(states: TradingStateStore, accounts: tuple[str, ...]) -> list[str]:
    """The accounts whose trading state is HALTED now; sampled every minute for the TradingHalted alarm."""
    return [a for a in accounts if states.trading_state(a).state == TradingState.HALTED.value]
