"""The entry collar (domain/collar.py): a marketable limit at the alert price ± collar on the tick grid,
re-sized against the quote so the risk at the fill stays within budget x (1 + tolerance), refused when the
quote gapped past the limit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradepipe.domain.collar import (
    DEFAULT_RISK_TOLERANCE,
    Collar,
    Sized,
    check_realized_risk,
    collar_width,
    marketable_limit,
    size_against_quote,
)
from tradepipe.domain.model import Rejected, RejectReason, Side

D = Decimal


@pytest.mark.parametrize(
    ("collar", "atr", "width"),
    [
        pytest.param(Collar(bps=D(20)), None, D("0.30"), id="bps-of-the-alert-price"),
        pytest.param(Collar(bps=D(20), atr_fraction=D("0.1")), D(4), D("0.4"), id="atr-when-known"),
        pytest.param(Collar(bps=D(20), atr_fraction=D("0.1")), None, D("0.30"), id="bps-when-atr-unknown"),
        pytest.param(Collar(atr_fraction=D("0.1")), None, None, id="no-collar-without-atr"),
        pytest.param(Collar(), D(4), None, id="none-set"),
    ],
)
def test_collar_width(collar: Collar, atr: Decimal | None, width: Decimal | None) -> None:
    assert collar_width(D(150), collar, atr) == width


@pytest.mark.parametrize(
    ("side", "price", "width", "limit"),
    [
        pytest.param(Side.BUY, D("150.25"), D("0.3005"), D("150.55"), id="buy-rounds-down-never-pays-more"),
        pytest.param(Side.SELL, D("150.25"), D("0.3005"), D("149.95"), id="sell-rounds-up-never-gets-less"),
        pytest.param(Side.BUY, D("0.5"), D("0.00123"), D("0.5012"), id="sub-penny-below-a-dollar"),
    ],
)
def test_marketable_limit_on_the_tick_grid(
    side: Side, price: Decimal, width: Decimal, limit: Decimal
) -> None:
    assert marketable_limit(side, price, width) == limit


def test_marketable_limit_when_collar_swallows_a_sell_price_then_refused() -> None:
    with pytest.raises(ValueError, match="no sell price"):
        marketable_limit(Side.SELL, D("0.5"), D(1))


def test_collar_when_negative_then_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Collar(bps=D(-1))


def test_size_when_quote_gapped_past_the_collar_then_refused_not_sent() -> None:
    decision = size_against_quote(Side.BUY, D(100), D(145), D(500), quote=D("151.00"), limit=D("150.55"))

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.QUOTE_BEYOND_COLLAR
    assert "151.00" in decision.detail


def test_size_when_quote_moved_towards_the_stop_then_fewer_shares() -> None:
    # Sized at the alert 150 with stop 145: 100 shares for $500. The ask is now 150.40: $5.40 a share.
    decision = size_against_quote(Side.BUY, D(100), D(145), D(500), quote=D("150.40"), limit=D("150.55"))

    assert isinstance(decision, Sized)
    assert decision.qty == 92  # 500 / 5.40 = 92.6; at the limit 92 x 5.55 = 510.60 <= 550
    assert decision.risk_at_quote <= 500


def test_size_when_quote_is_better_than_the_alert_then_never_more_than_sized() -> None:
    decision = size_against_quote(Side.SELL, D(50), D(155), D(500), quote=D("151.00"), limit=D("149.95"))

    assert isinstance(decision, Sized)
    assert decision.qty == 50


def test_size_when_stop_on_the_wrong_side_of_the_quote_then_refused() -> None:
    decision = size_against_quote(Side.BUY, D(10), D(151), D(500), quote=D("150.40"), limit=D("150.55"))

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_WRONG_SIDE


@given(
    alert=st.decimals(min_value=5, max_value=500, places=2),
    stop_pct=st.decimals(min_value="0.5", max_value=10, places=2),
    collar_bps=st.decimals(min_value=0, max_value=100, places=1),
    drift=st.decimals(min_value=0, max_value=1, places=3),
    fill_at=st.decimals(min_value=0, max_value=1, places=3),
    budget=st.decimals(min_value=50, max_value=5000, places=0),
)
def test_size_then_any_fill_up_to_the_limit_stays_within_budget_and_tolerance(
    alert: Decimal, stop_pct: Decimal, collar_bps: Decimal, drift: Decimal, fill_at: Decimal, budget: Decimal
) -> None:
    stop = (alert * (1 - stop_pct / 100)).quantize(D("0.01"))
    width = collar_width(alert, Collar(bps=collar_bps), None) or D(0)
    limit = marketable_limit(Side.BUY, alert, width)
    quote = alert + (limit - alert) * drift  # anywhere from the alert price to the limit
    decision = size_against_quote(Side.BUY, D(10_000), stop, budget, quote, limit)
    if isinstance(decision, Rejected):
        assert decision.reason is RejectReason.SIZE_BELOW_ONE_SHARE
        return
    fill = quote + (limit - quote) * fill_at  # a limit fills at its price or better

    assert check_realized_risk(Side.BUY, fill, stop, decision.qty, budget) is None
    assert decision.risk_at_quote <= budget


def test_realized_risk_when_over_budget_beyond_tolerance_then_breach_with_numbers() -> None:
    assert check_realized_risk(Side.BUY, D("150.50"), D(145), D(100), D(500)) is None  # 550 = 500 x 1.10
    breach = check_realized_risk(Side.BUY, D("150.51"), D(145), D(100), D(500))

    assert isinstance(breach, Rejected)
    assert breach.reason is RejectReason.RISK_OVER_BUDGET
    assert "10.2%" in breach.detail
    assert D("0.10") == DEFAULT_RISK_TOLERANCE
