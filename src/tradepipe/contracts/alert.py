"""What TradingView sends: the standardized alert payload, tolerant of case and number spellings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from tradepipe.domain.model import Mode, Side

PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=18, decimal_places=8)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class AlertPayload(BaseModel):
    """The standardized alert. Field names follow the TradingView template the trader pastes."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)

    passphrase: SecretStr | None = None
    signal: Annotated[Side, BeforeValidator(_upper)]
    ticker: Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z][A-Z0-9.\-]{0,9}$")]
    trading_mode: Literal["Paper", "Production"] = Field(default="Paper", alias="tradingMode")
    risk_amount: PositiveDecimal = Field(alias="riskAmount")
    entry_price: PositiveDecimal = Field(alias="entryPrice")
    stop_loss: PositiveDecimal = Field(alias="stopLoss")
    take_profit: PositiveDecimal | None = Field(default=None, alias="takeProfit")
    timestamp: datetime
    strategy: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")] = "default"
    timeframe: Annotated[str, Field(min_length=1, max_length=16)] = "unknown"

    @field_validator("timestamp")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a timezone, e.g. 2024-01-01T12:00:00Z")
        return value.astimezone(UTC)

    @property
    def mode(self) -> Mode:
        return Mode.LIVE if self.trading_mode == "Production" else Mode.PAPER
