"""Events -> short messages, per channel kind. Pure: values in, messages out.

One line per event naming ticker, strategy and mode: paper plainly (`[paper]`), live loudly (`🔴 LIVE`),
and a link to the signal's trail when a public base URL is configured. A batch (a bar close of 40 fills)
becomes one message per mode group, split only where a channel's size limit forces it; live events never
share a message with paper ones, and what needs action (halts, unprotected positions, dead letters) comes
first. Every text passes through the secret filters before it leaves: channel URLs and tokens, and anything
shaped like `passphrase=...` or `/webhook/<token>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradepipe.contracts.events import (
    AlarmStateChanged,
    DomainEvent,
    EntryFilled,
    ExitFilled,
    MessageDeadLettered,
    PipelineSilent,
    PositionDivergence,
    PositionRearmed,
    PositionUnprotected,
    RiskCapApplied,
    SignalDuplicate,
    SignalRejected,
    TradingStateChanged,
)
from tradepipe.domain.model import Mode, RejectReason
from tradepipe.domain.risk.context import TradingState
from tradepipe.notify.channels import Channel, ChannelKind, redact_channels
from tradepipe.observability.redaction import redact, redact_text

HEADER_RESERVE = 120  # units kept free in each message for its header
SUBJECT_MAX = 99  # SNS: the subject must be under 100 characters, no line breaks or control characters
LIVE = "🔴 LIVE"
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Message:
    """One message for one channel: its text (already escaped for the channel), an email subject, the
    events it carries (keys for deduplication, details for generic webhooks)."""

    text: str
    subject: str
    event_keys: tuple[str, ...]
    events: tuple[dict[str, Any], ...]


def units(text: str) -> int:
    """Length in UTF-16 code units: Telegram's count, and never less than Slack's or Discord's."""
    return len(text.encode("utf-16-le")) // 2


def render(
    events: Sequence[DomainEvent],
    channel: Channel,
    *,
    base_url: str | None = None,
    secrets: Iterable[Channel] = (),
) -> list[Message]:
    """The messages that carry `events` to `channel`, in the order they should be sent."""
    known = (channel, *secrets)
    detailed = channel.kind is ChannelKind.WEBHOOK
    messages: list[Message] = []
    for group in _groups(events):
        tag = _mode_tag(group[0].subject().mode)
        lines = [_scrub(_line(e, base_url), known) for e in group]
        budget = channel.max_chars - HEADER_RESERVE
        chunks = _pack(list(zip(group, lines, strict=True)), budget, channel.kind)
        for index, chunk in enumerate(chunks, start=1):
            chunk_events = [e for e, _ in chunk]
            part = f" ({index}/{len(chunks)})" if len(chunks) > 1 else ""
            header = _clip(_header(chunk_events) + part, HEADER_RESERVE - 1)
            body = [line for _, line in chunk]
            # The header names the mode of a group; a message of one line names it itself.
            plain = " ".join(p for p in (tag, body[0]) if p) if len(body) == 1 else "\n".join([header, *body])
            messages.append(
                Message(
                    text=_escape(plain, channel.kind),
                    subject=_subject(plain.split("\n", 1)[0]),
                    event_keys=tuple(e.event_key() for e in chunk_events),
                    # Only generic webhooks carry the events themselves.
                    events=tuple(_scrub_detail(e, known) for e in chunk_events) if detailed else (),
                )
            )
    return messages


def render_test(channel: Channel, stage: str) -> Message:
    text = f"tradepipe ({stage}): test message. This channel is configured and answering."
    return Message(
        text=_escape(text, channel.kind), subject="tradepipe test message", event_keys=(), events=()
    )


def trail_url(base_url: str | None, signal_id: str | None) -> str | None:
    """The signal's trail: `{signal_id}` in the base is replaced, else `/signals/<id>` is appended."""
    if not base_url or not signal_id:
        return None
    if "{signal_id}" in base_url:
        return base_url.replace("{signal_id}", signal_id)
    return f"{base_url.rstrip('/')}/signals/{signal_id}"


# -- lines -------------------------------------------------------------------------------------------------


def _line(event: DomainEvent, base_url: str | None) -> str:
    subject = event.subject()
    line = _DESCRIBE[type(event)](event)
    if subject.strategy:
        line += f" · {subject.strategy}"
    link = trail_url(base_url, subject.signal_id)
    if link:
        line += f" · {link}"
    return line


def _mode_tag(mode: Mode | None) -> str:
    if mode is Mode.LIVE:
        return LIVE
    if mode is Mode.PAPER:
        return "[paper]"
    return ""


def _num(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _price(value: Decimal) -> str:
    """Cents always shown (187.10, not 187.1); finer ticks as given."""
    return f"{value:.2f}" if value == value.quantize(_CENT) else _num(value)


def _money(value: Decimal) -> str:
    return f"{value:+,.2f}".replace("-", "−")


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _entry(e: EntryFilled) -> str:
    text = f"✅ {e.ticker} entry filled: {e.side.value} {_num(e.qty)} @ {_price(e.price)}"
    if e.stop_loss is not None:
        text += f", stop {_price(e.stop_loss)}"
    if e.take_profit is not None:
        text += f", target {_price(e.take_profit)}"
    if e.over_budget and e.realized_risk is not None and e.risk_budget is not None:
        text += f" ⚠️ risk {_price(e.realized_risk)} over its budget {_price(e.risk_budget)}"
    return text


def _exit(e: ExitFilled) -> str:
    reason = e.exit_reason.value.replace("_", " ")
    text = (
        f"🏁 {e.ticker} exit filled ({reason}): {e.position} {_num(e.qty)}, "
        f"{_price(e.entry_price)} → {_price(e.exit_price)}, P&L {_money(e.pnl)}"
    )
    if e.r_multiple is not None:
        text += f" ({e.r_multiple:+.2f}R)".replace("-", "−")
    return text


def _rejected(e: SignalRejected) -> str:
    what = e.ticker or "alert"
    if e.reason is RejectReason.ENTRY_NOT_FILLED:
        return f"⌛ {what} entry not filled" + (f": {e.detail}" if e.detail else "")
    return f"❌ {what} rejected {e.reason.value}" + (f": {e.detail}" if e.detail else "")


def _state(e: TradingStateChanged) -> str:
    icon = {TradingState.HALTED: "🛑", TradingState.REDUCING: "⚠️", TradingState.ACTIVE: "▶️"}[e.state]
    who = f"by {e.by}" if e.by else ("by hand" if e.rule == "manual" else f"by rule {e.rule}")
    return f"{icon} trading {e.state.value} {who}: {e.detail}"


def _unprotected(e: PositionUnprotected) -> str:
    text = f"⚠️ {e.ticker} UNPROTECTED: {_num(e.qty)} held, stops cover {_num(e.covered_qty)}"
    return text + (f" ({e.detail})" if e.detail else "")


def _rearmed(e: PositionRearmed) -> str:
    stop = f"stop {_price(e.stop_price)} " if e.stop_price is not None else "stops "
    return f"🛡️ {e.ticker} re-armed: {stop}covers {_num(e.qty)}"


def _dead_letter(e: MessageDeadLettered) -> str:
    what = "messages" if e.count is None else f"{e.count} message{'' if e.count == 1 else 's'}"
    return f"☠️ {what} dead-lettered on {e.queue}: orders may be stuck, see the runbook"


def _silent(e: PipelineSilent) -> str:
    last = f"last alert {_time(e.last_alert_at)}" if e.last_alert_at else "no alert in view"
    return (
        f"🔇 pipeline silent: no alert for {e.silent_minutes} market minutes "
        f"(threshold {e.threshold_minutes}; {last})"
    )


def _divergence(e: PositionDivergence) -> str:
    return f"⚠️ {e.ticker} divergence: strategy reports {_num(e.reported)}, broker holds {_num(e.broker)}"


def _alarm(e: AlarmStateChanged) -> str:
    if e.state == "ALARM":
        return f"🚨 alarm {e.alarm}: ALARM" + (f" ({e.detail})" if e.detail else "")
    return f"🆗 alarm {e.alarm}: OK again"


_DESCRIBE: Mapping[type[DomainEvent], Callable[[Any], str]] = {
    EntryFilled: _entry,
    ExitFilled: _exit,
    SignalRejected: _rejected,
    SignalDuplicate: lambda e: f"↩️ {e.ticker} duplicate alert ignored",
    TradingStateChanged: _state,
    RiskCapApplied: lambda e: f"✂️ {e.ticker} capped: {e.cap}",
    PositionUnprotected: _unprotected,
    PositionRearmed: _rearmed,
    MessageDeadLettered: _dead_letter,
    PositionDivergence: _divergence,
    PipelineSilent: _silent,
    AlarmStateChanged: _alarm,
}

# -- grouping ----------------------------------------------------------------------------------------------

_LABELS: Mapping[type[DomainEvent], tuple[str, str]] = {
    EntryFilled: ("entry fill", "entry fills"),
    ExitFilled: ("exit", "exits"),
    SignalRejected: ("rejection", "rejections"),
    SignalDuplicate: ("duplicate", "duplicates"),
    TradingStateChanged: ("state switch", "state switches"),
    RiskCapApplied: ("cap", "caps"),
    PositionUnprotected: ("unprotected position", "unprotected positions"),
    PositionRearmed: ("re-armed position", "re-armed positions"),
    MessageDeadLettered: ("dead letter", "dead letters"),
    PositionDivergence: ("divergence", "divergences"),
    PipelineSilent: ("silence", "silences"),
    AlarmStateChanged: ("alarm", "alarms"),
}


def _urgency(event: DomainEvent) -> int:
    """0 needs action now, 1 needs a look, 2 informs."""
    match event:
        case TradingStateChanged(state=state) if state is not TradingState.ACTIVE:
            return 0
        case PositionUnprotected() | MessageDeadLettered():
            return 0
        case AlarmStateChanged(state="ALARM"):
            return 0
        case PositionDivergence() | PipelineSilent() | SignalRejected():
            return 1
    return 2


def _groups(events: Sequence[DomainEvent]) -> list[list[DomainEvent]]:
    """System events (no mode) first, then live, then paper; each by urgency, then time."""
    order = {None: 0, Mode.LIVE: 1, Mode.PAPER: 2}
    buckets: dict[Mode | None, list[DomainEvent]] = {}
    for event in events:
        buckets.setdefault(event.subject().mode, []).append(event)
    return [
        sorted(buckets[mode], key=lambda e: (_urgency(e), e.at))
        for mode in sorted(buckets, key=lambda m: order[m])
    ]


def _header(events: Sequence[DomainEvent]) -> str:
    counts: dict[type[DomainEvent], int] = {}
    for event in events:
        counts[type(event)] = counts.get(type(event), 0) + 1
    summary = ", ".join(
        f"{n} {_LABELS[kind][0] if n == 1 else _LABELS[kind][1]}" for kind, n in counts.items()
    )
    tag = _mode_tag(events[0].subject().mode)
    return " ".join(p for p in (tag, "tradepipe:", summary) if p)


def _pack(
    lines: list[tuple[DomainEvent, str]], budget: int, kind: ChannelKind
) -> list[list[tuple[DomainEvent, str]]]:
    chunks: list[list[tuple[DomainEvent, str]]] = []
    current: list[tuple[DomainEvent, str]] = []
    size = 0
    for event, line in lines:
        clipped = _clip(line, budget - 1)
        cost = units(_escape(clipped, kind)) + 1  # as sent, and its newline
        if current and size + cost > budget:
            chunks.append(current)
            current, size = [], 0
        current.append((event, clipped))
        size += cost
    if current:
        chunks.append(current)
    return chunks


def _clip(text: str, limit: int) -> str:
    if units(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for ch in text:
        used += units(ch)
        if used > limit - 1:  # room for the ellipsis
            break
        kept.append(ch)
    return "".join(kept) + "…"


# -- channel formats and filters ---------------------------------------------------------------------------


def _escape(text: str, kind: ChannelKind) -> str:
    if kind is ChannelKind.SLACK:
        # Slack reads <...> as links and mentions (`<!channel>`): escape its three control characters.
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _subject(text: str) -> str:
    ascii_only = "".join(ch for ch in text if 32 <= ord(ch) < 127).strip()
    return _clip(" ".join(ascii_only.split()), SUBJECT_MAX) if ascii_only else "tradepipe"


def _scrub(text: str, channels: Iterable[Channel]) -> str:
    return redact_text(redact_channels(text, channels))


def _scrub_detail(event: DomainEvent, channels: Sequence[Channel]) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redact_channels(value, channels)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return {"type": event.detail_type, "detail": walk(redact(event.as_detail()))}
