"""Reading a request: the JSON body and the query parameters, refused in Alpaca's error shape."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from tradepipe.local.paper_broker.errors import CODE_MALFORMED_BODY, BrokerError, invalid
from tradepipe.local.paper_broker.queries import OrderQuery
from tradepipe.local.paper_broker.render import NEW_YORK
from tradepipe.local.paper_broker.state import Side


async def json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise invalid("request body is required")
        return {}
    try:
        # Decimal for non-integers: 430.1 must stay 430.1, not 430.09999999999999.
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise BrokerError(400, CODE_MALFORMED_BODY, "request body format is invalid") from None


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"invalid {name}: {raw}") from None


def bool_param(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def decimal_param(request: Request, name: str) -> Decimal | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise invalid(f"invalid {name}: {raw}") from None


def time_param(request: Request, name: str) -> datetime | None:
    """RFC 3339, or a bare date (midnight New York). Naive times are UTC, as alpaca-py assumes."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), NEW_YORK)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"invalid {name}: {raw}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def date_param(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise invalid(f"invalid {name}: {raw}") from None


def symbols_param(request: Request) -> list[str]:
    raw = request.query_params.get("symbols", "")
    return [s.strip().upper() for s in raw.split(",") if s.strip()]


def order_query(request: Request) -> OrderQuery:
    status = request.query_params.get("status", "open").lower()
    if status not in ("open", "closed", "all"):
        raise invalid(f"invalid status: {status}")
    direction = request.query_params.get("direction", "desc").lower()
    side_raw = request.query_params.get("side", "").lower()
    symbols = symbols_param(request)
    limit = int_param(request, "limit", 50)
    return OrderQuery(
        status=status,
        limit=max(1, min(limit, 500)),
        after=time_param(request, "after"),
        until=time_param(request, "until"),
        direction="asc" if direction == "asc" else "desc",
        nested=bool_param(request, "nested"),
        side=Side(side_raw) if side_raw in ("buy", "sell") else None,
        symbols=frozenset(symbols) if symbols else None,
    )
