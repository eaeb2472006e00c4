"""Which broker a signal's mode may use: paper by default, live only when enabled and keyed."""

from __future__ import annotations

from functools import cache

from tradepipe.adapters.alpaca import AlpacaBroker
from tradepipe.adapters.secrets import AlpacaKeys
from tradepipe.bootstrap import secret_reader
from tradepipe.domain.model import Mode
from tradepipe.settings import get_settings


class AlpacaBrokerFactory:
    def for_mode(self, mode: Mode) -> AlpacaBroker | None:
        settings = get_settings()
        if mode is Mode.LIVE and not settings.live_trading_enabled:
            return None
        return _broker(mode)


@cache
def _broker(mode: Mode) -> AlpacaBroker | None:
    settings = get_settings()
    name = settings.alpaca_live_secret_name if mode is Mode.LIVE else settings.alpaca_paper_secret_name
    raw = secret_reader().json(name)
    if raw is None:
        return None
    keys = AlpacaKeys.model_validate(raw)
    if keys.api_key.get_secret_value() in ("", "SET_ME"):
        return None  # the deployed placeholder: no credentials until an operator sets them
    return AlpacaBroker(
        mode,
        keys.api_key.get_secret_value(),
        keys.secret_key.get_secret_value(),
        # The override points paper orders at the local broker; live orders always go to Alpaca itself.
        url_override=settings.alpaca_url_override if mode is Mode.PAPER else None,
        timeout_s=settings.alpaca_timeout_s,
    )


def reset() -> None:
    _broker.cache_clear()
