"""What a Pine strategy's alert looks like on the wire: the message templates and Pine's formatting.

The templates are copied verbatim from `tradingview/strategy_v6_sma_cross.pine` (between its
`tradepipe:message-begin` / `-end` markers); a unit test reads the .pine file and fails if they drift.
`render` fills the `%slot%` markers the way the script's `render()` does, so the backtest sends the bytes
TradingView would send.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

ENTRY_TEMPLATE = (
    '{"passphrase": "%passphrase%", "ticker": "%ticker%", "exchange": "%exchange%", '
    '"action": "buy", "contracts": %contracts%, "positionSize": %contracts%, "marketPosition": "long", '
    '"orderId": "Long", "price": %price%, "time": "%time%", "strategy": "%strategy%", '
    '"timeframe": "%timeframe%", "tradingMode": "%mode%", "riskAmount": %risk%, "stopLoss": %stop%, '
    '"takeProfit": %target%}'
)
EXIT_TEMPLATE = (
    '{"passphrase": "%passphrase%", "ticker": "%ticker%", "exchange": "%exchange%", '
    '"action": "sell", "contracts": %contracts%, "positionSize": 0, "marketPosition": "flat", '
    '"orderId": "Close", "price": %price%, "time": "%time%", "strategy": "%strategy%", '
    '"timeframe": "%timeframe%", "tradingMode": "%mode%"}'
)

MINTICK = Decimal("0.01")  # syminfo.mintick of a US stock


def num(value: Decimal | None) -> str:
    """Pine's str.tostring(v, "0.########"): up to 8 decimals, no trailing zeros, no exponent; na -> NaN."""
    if value is None:
        return "NaN"
    text = format(value.quantize(Decimal("0.00000001"), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def iso_time(at: datetime) -> str:
    """str.format_time(t, "yyyy-MM-dd'T'HH:mm:ss'Z'", "UTC")."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def round_to_mintick(value: Decimal) -> Decimal:
    """math.round_to_mintick: the nearest multiple of the tick, ties rounding up."""
    return value.quantize(MINTICK, rounding=ROUND_HALF_UP)


def json_text(text: str) -> str:
    """The script's jsonText(): the characters between the quotes of a JSON string."""
    return json.dumps(text)[1:-1]


def render(template: str, slots: dict[str, str]) -> bytes:
    """Fill every %name% slot; the result is the alert body, as bytes (what the webhook receives)."""
    body = template
    for name, value in slots.items():
        body = body.replace(f"%{name}%", value)
    return body.encode()
