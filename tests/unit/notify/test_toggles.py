"""Per-event switches: the defaults a trader expects, and a typo that fails instead of muting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.notify_samples import AT, dead_letter, fill, halt, rejection, silence, unprotected
from tradepipe.contracts.events import RiskCapApplied, SignalDuplicate, SignalRejected
from tradepipe.domain.model import Mode, RejectReason
from tradepipe.notify.toggles import NotifyToggles, rejection_kind
from tradepipe.settings import Settings


def _rejected(reason: RejectReason) -> SignalRejected:
    return rejection().model_copy(update={"reason": reason})


def test_defaults_notify_fills_rejections_switches_protection_and_silence() -> None:
    toggles = NotifyToggles()
    wanted = [
        fill(),
        _rejected(RejectReason.COOLDOWN),
        _rejected(RejectReason.BROKER_REJECTED),
        _rejected(RejectReason.INVALID_ALERT),
        halt(),
        unprotected(),
        dead_letter(),
        silence(),
    ]

    assert all(toggles.wants(e) for e in wanted)


def test_defaults_leave_duplicates_and_caps_out() -> None:
    toggles = NotifyToggles()
    duplicate = SignalDuplicate(at=AT, mode=Mode.PAPER, signal_id="d" * 32, ticker="AAPL", strategy="s")
    cap = RiskCapApplied(at=AT, account=Mode.PAPER, signal_id="c" * 32, ticker="AAPL", strategy="s", cap="x")

    assert not toggles.wants(duplicate)
    assert not toggles.wants(cap)
    assert NotifyToggles(duplicates=True).wants(duplicate)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (RejectReason.STALE_ALERT, "intake"),
        (RejectReason.TRADING_HALTED, "risk"),
        (RejectReason.SIZE_BELOW_ONE_SHARE, "risk"),
        (RejectReason.ORDER_INVALID, "broker"),
        (RejectReason.BROKER_REJECTED, "broker"),
    ],
)
def test_rejection_kind(reason: RejectReason, kind: str) -> None:
    assert rejection_kind(reason) == kind


def test_switching_risk_rejections_off_keeps_broker_rejections() -> None:
    toggles = NotifyToggles(risk_rejections=False)

    assert not toggles.wants(_rejected(RejectReason.COOLDOWN))
    assert toggles.wants(_rejected(RejectReason.BROKER_REJECTED))


def test_settings_read_toggles_from_json_and_refuse_an_unknown_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEPIPE_NOTIFY_EVENTS", '{"duplicates": true, "entry_filled": false}')
    settings = Settings()
    assert settings.notify_events.duplicates
    assert not settings.notify_events.entry_filled

    monkeypatch.setenv("TRADEPIPE_NOTIFY_EVENTS", '{"fills": false}')
    with pytest.raises(ValidationError, match="fills"):
        Settings()
