"""What the API answers to an alert, and the error body every route answers with. Apart from the read
API's contracts (`contracts.api`, which re-exports these) so the webhook's cold start imports only these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tradepipe.contracts.items import ErrorEntry


class ErrorBody(BaseModel):
    """Every error the API answers, whatever the route: a word, a sentence, and the fields at fault (named as
    the sender named them, never echoing a value). An alert recorded as rejected also names its id and
    reason."""

    status: str  # rejected, unauthorized, forbidden, malformed, too_large, bad_request, not_found, error
    message: str
    errors: list[ErrorEntry] = Field(default_factory=list)
    signal_id: str | None = None
    reason: str | None = None


class IntakeAnswer(BaseModel):
    """POST /webhook when the alert was taken (202) or had been taken before (200)."""

    signal_id: str
    status: str  # accepted | duplicate


class BatchElementAnswer(BaseModel):
    """One element of a batch, as a lone alert would have been answered: its id, what happened, and for a
    rejected element its reason code and the fields at fault."""

    index: int
    signal_id: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    errors: list[ErrorEntry] = Field(default_factory=list)


class BatchAnswer(BaseModel):
    """POST /webhook with a batch: 202 when any element was accepted, 200 when none was and some were
    duplicates, 422 when every element was rejected; `results` in the batch's order."""

    status: Literal["accepted", "duplicate", "rejected"]
    message: str
    results: list[BatchElementAnswer]
