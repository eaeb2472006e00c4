"""Events and channel URLs shared by the notification tests. The tokens are made up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradepipe.contracts.events import (
    EntryFilled,
    ExitFilled,
    ExitReason,
    MessageDeadLettered,
    PipelineSilent,
    PositionUnprotected,
    SignalRejected,
    TradingStateChanged,
)
from tradepipe.domain.model import Mode, RejectReason, Side
from tradepipe.domain.risk.context import TradingState

AT = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
SLACK_TOKEN = "xoxbTOKENslack0123456789abcdef"
DISCORD_TOKEN = "discordTOKEN-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
TELEGRAM_TOKEN = "123456789:AAtelegramTOKEN_0123456789abcdefghij"
WEBHOOK_TOKEN = "genericTOKEN0123456789abcdef"
PASSPHRASE = "hunter2-passphrase-never-sent"
ALPACA_SECRET = "alpacaSECRETkey0123456789"
SECRETS = (SLACK_TOKEN, DISCORD_TOKEN, TELEGRAM_TOKEN, WEBHOOK_TOKEN, PASSPHRASE, ALPACA_SECRET)


def slack_url(base: str = "https://hooks.slack.com") -> str:
    return f"slack+{base}/services/T0001/B0001/{SLACK_TOKEN}"


def discord_url(base: str = "https://discord.com") -> str:
    return f"discord+{base}/api/webhooks/1234567890/{DISCORD_TOKEN}"


def telegram_url(chat: str = "987654321") -> str:
    return f"telegram://{TELEGRAM_TOKEN}@{chat}"


def webhook_url(base: str = "https://hooks.example.com") -> str:
    return f"{base}/notify?token={WEBHOOK_TOKEN}"


def fill(n: int = 0, mode: Mode = Mode.PAPER, ticker: str = "AAPL") -> EntryFilled:
    signal_id = f"{n:032x}"
    return EntryFilled(
        at=AT + timedelta(milliseconds=n),
        mode=mode,
        signal_id=signal_id,
        ticker=ticker,
        strategy="momentum_breakout",
        side=Side.BUY,
        qty=Decimal(100 + n),
        price=Decimal("187.12"),
        stop_loss=Decimal("185.00"),
        take_profit=Decimal("192.00"),
        client_order_id=f"tp-{signal_id}-open",
    )


def exit_fill(mode: Mode = Mode.LIVE) -> ExitFilled:
    return ExitFilled(
        at=AT,
        mode=mode,
        signal_id="e" * 32,
        ticker="MSFT",
        strategy="mean_revert",
        position="long",
        qty=Decimal(10),
        entry_price=Decimal("400.00"),
        exit_price=Decimal("396.00"),
        pnl=Decimal("-40.00"),
        r_multiple=Decimal("-1.00"),
        exit_reason=ExitReason.STOP_LOSS,
        client_order_id="tp-" + "e" * 32 + "-open",
    )


def rejection(detail: str = "stop-out 10 min ago; cooldown 15 min") -> SignalRejected:
    return SignalRejected(
        at=AT,
        mode=Mode.PAPER,
        signal_id="r" * 32,
        ticker="TSLA",
        strategy="mean_revert",
        reason=RejectReason.COOLDOWN,
        detail=detail,
    )


def halt(mode: Mode = Mode.PAPER) -> TradingStateChanged:
    return TradingStateChanged(
        at=AT,
        account=mode,
        state=TradingState.HALTED,
        rule="max_drawdown",
        detail="drawdown 20.00% from high-water mark 125000 >= 10%",
    )


def unprotected() -> PositionUnprotected:
    return PositionUnprotected(
        at=AT, mode=Mode.LIVE, ticker="NVDA", qty=Decimal(50), covered_qty=Decimal(20), since=AT
    )


def dead_letter() -> MessageDeadLettered:
    return MessageDeadLettered(at=AT, queue="tradepipe-prod-order-intents-dlq.fifo", count=3)


def silence() -> PipelineSilent:
    return PipelineSilent(
        at=AT, last_alert_at=AT - timedelta(hours=2), threshold_minutes=60, silent_minutes=75
    )
