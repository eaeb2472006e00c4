"""Every HTTP answer the API function gives: status codes, the one error body (`contracts.api.ErrorBody`),
JSON encoding. Use cases return outcomes (`app.intake.IntakeResult`, a page, a trail, a trading state) or
raise the app's own errors; only this module turns them into responses.

    accept_alert  Accepted 202, Duplicate 200, Invalid 422 (with the signal id and reason), Unauthorized 401,
                  Forbidden 403, Malformed 400, TooLarge 413; a Batch 202 when any element was accepted,
                  200 when none was and some were duplicates, 422 when all were rejected (`BatchAnswer`)
    reads         ValidationError 422 (field errors, never the input), BadPageToken 400, nothing found 404
    flatten       202 with the flatten's signal id; a bad ticker or body 422 (nothing recorded), unknown
                  account 404
    anything else 500 with a generic message: a fault of ours, logged and counted, never explained

The mapping itself (`intake_answer`, `answer_parts`) is framework-free: the API Lambda wraps it in Powertools
responses here, the single-machine runtime's intake and operator servers in their own (local/runtime/).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from tradepipe.app.intake import (
    Accepted,
    AlertRequest,
    Batch,
    Duplicate,
    ElementResult,
    Forbidden,
    IntakeResult,
    Invalid,
    Malformed,
    TooLarge,
    Unauthorized,
)
from tradepipe.contracts.answers import BatchAnswer, BatchElementAnswer, ErrorBody, IntakeAnswer
from tradepipe.contracts.items import ErrorEntry
from tradepipe.domain.model import Mode
from tradepipe.resources import WEBHOOK_MAX_BATCH_ALERTS, WEBHOOK_MAX_BODY_BYTES

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from tradepipe.contracts.api import SignalQuery, TradingStateRequest
    from tradepipe.observability.lambda_setup import LambdaTools


class NotFound(LookupError):
    """A route's subject does not exist (an unknown account)."""


def body_text(body: BaseModel) -> str:
    # An error names the signal and reason only when an alert was recorded; a page's null token is data.
    return body.model_dump_json(exclude_none=isinstance(body, ErrorBody))


def json_response(status: int, body: BaseModel) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=status, content_type="application/json", body=body_text(body))


def error_body(word: str, message: str, errors: list[ErrorEntry] | None = None, **ids: str) -> ErrorBody:
    return ErrorBody(status=word, message=message, errors=errors or [], **ids)


def error(
    status: int, word: str, message: str, errors: list[ErrorEntry] | None = None, **ids: str
) -> Response[str]:
    return json_response(status, error_body(word, message, errors, **ids))


def field_errors(exc: ValidationError, default: str = "query") -> list[ErrorEntry]:
    """Field names as sent, messages as pydantic words them; never the input (it may hold a secret)."""
    return [
        ErrorEntry(field=".".join(str(p) for p in e["loc"]) or default, message=e["msg"])
        for e in exc.errors(include_input=False, include_url=False)
    ]


# --- POST /webhook -----------------------------------------------------------------------------------------


# The resolver's match for `/webhook/<token>` (Powertools' `_NAMED_GROUP_BOUNDARY_PATTERN`: RFC 3986's safe
# characters plus those API Gateway hands over decoded), so the alert route answers exactly the paths the
# resolver did when it routed alerts too.
_TOKEN = re.compile(r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+")


def alert_route(event: dict[str, Any]) -> tuple[bool, str | None]:
    """(is POST /webhook or /webhook/{token}, the path token if any), from the raw API Gateway event."""
    if event.get("httpMethod") != "POST":
        return False, None
    path = event.get("path") or ""
    if path == "/webhook":
        return True, None
    token = path.removeprefix("/webhook/")
    if token != path and _TOKEN.fullmatch(token):
        return True, token
    return False, None


def alert_request(event: dict[str, Any], path_token: str | None) -> AlertRequest:
    # The raw bytes, whatever the Content-Type (TradingView sends text/plain as often as JSON); never
    # decoded as UTF-8 first, which would turn a binary body into a 500.
    text = event.get("body") or ""
    raw = base64.b64decode(text) if event.get("isBase64Encoded") else text.encode("utf-8")
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return AlertRequest(raw, identity.get("sourceIp"), path_token)


def proxy_response(status: int, body: BaseModel) -> dict[str, Any]:
    """The API Gateway proxy answer, in the shape Powertools' REST resolver gives for `json_response`."""
    return {
        "statusCode": status,
        "body": body_text(body),
        "isBase64Encoded": False,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
    }


def unexpected(tools: LambdaTools) -> tuple[int, BaseModel]:
    """Anything unexpected: a 500 that says nothing of our internals (a store or queue down, never bad
    input: that has its 4xx), logged with its traceback and counted."""
    tools.logger.exception("api failed")
    tools.count("WebhookErrors")
    return 500, error_body("error", "internal error, the alert was not accepted")


def intake_answer(result: IntakeResult) -> tuple[int, BaseModel]:
    match result:
        case Accepted(signal_id):
            return 202, IntakeAnswer(signal_id=signal_id, status="accepted")
        case Duplicate(signal_id):
            return 200, IntakeAnswer(signal_id=signal_id, status="duplicate")
        case Invalid(signal_id, errors, reason):
            problems = [ErrorEntry(field=e.field, message=e.message) for e in errors]
            body = ErrorBody(
                status="rejected",
                message="the alert was recorded as rejected: see errors",
                errors=problems,
                signal_id=signal_id,
                reason=reason.value,
            )
            return 422, body
        case Unauthorized():
            return 401, ErrorBody(status="unauthorized", message="missing or wrong passphrase")
        case Forbidden():
            return 403, ErrorBody(status="forbidden", message="source address not allowed")
        case Malformed(detail):
            return 400, ErrorBody(status="malformed", message=detail)
        case TooLarge(size, None):
            limit = f"body is {size} bytes; the limit is {WEBHOOK_MAX_BODY_BYTES} bytes"
            return 413, ErrorBody(status="too_large", message=limit)
        case TooLarge(_, alerts):
            limit = f"batch holds {alerts} alerts; the limit is {WEBHOOK_MAX_BATCH_ALERTS} alerts per body"
            return 413, ErrorBody(status="too_large", message=limit)
        case Batch(results):
            return batch_answer(results)
    raise AssertionError(f"unmapped intake result {result!r}")  # pragma: no cover


def _element_answer(index: int, result: ElementResult) -> BatchElementAnswer:
    match result:
        case Accepted(signal_id):
            return BatchElementAnswer(index=index, signal_id=signal_id, status="accepted")
        case Duplicate(signal_id):
            return BatchElementAnswer(index=index, signal_id=signal_id, status="duplicate")
        case Invalid(signal_id, errors, reason):
            problems = [ErrorEntry(field=e.field, message=e.message) for e in errors]
            return BatchElementAnswer(
                index=index, signal_id=signal_id, status="rejected", reason=reason.value, errors=problems
            )
    raise AssertionError(f"unmapped element result {result!r}")  # pragma: no cover


def batch_answer(results: tuple[ElementResult, ...]) -> tuple[int, BaseModel]:
    answers = [_element_answer(i, result) for i, result in enumerate(results)]
    counts = {word: sum(a.status == word for a in answers) for word in ("accepted", "duplicate", "rejected")}
    summary = ", ".join(f"{n} {word}" for word, n in counts.items())
    if counts["accepted"]:
        return 202, BatchAnswer(status="accepted", message=summary, results=answers)
    if counts["duplicate"]:
        return 200, BatchAnswer(status="duplicate", message=summary, results=answers)
    return 422, BatchAnswer(status="rejected", message=f"{summary}: see each result", results=answers)


# --- the read API and the kill switch ------------------------------------------------------------------


def signal_query(event: APIGatewayProxyEvent) -> SignalQuery:
    """Raises ValidationError. A repeated parameter stays a list and fails validation with its name: never
    "last one wins"."""
    from tradepipe.contracts.api import SignalQuery  # the read API's: not on the alert's import

    multi = event.multi_value_query_string_parameters or {}
    params = {k: v[0] if len(v) == 1 else v for k, v in multi.items()} or event.query_string_parameters
    return SignalQuery.model_validate(params or {})


def account(value: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise NotFound(f"no account {value!r}: paper or live") from None


def switch_request(
    event: APIGatewayProxyEvent, account_id: str
) -> Callable[[], tuple[Mode, TradingStateRequest, str]]:
    """The kill switch's account, body and who pressed it, read when called so `answer` maps a bad account
    (404) or body (422)."""

    from tradepipe.contracts.api import TradingStateRequest

    def read() -> tuple[Mode, TradingStateRequest, str]:
        request = TradingStateRequest.model_validate_json(event.body or "{}")
        return account(account_id), request, _who(request.by, event)

    return read


def flatten_request(event: APIGatewayProxyEvent, account_id: str) -> Callable[[], tuple[Mode, str, str]]:
    """`POST /flatten/{account}`: the account, the ticker (the alert grammar's shape) and who asked, read when
    called, as the kill switch's."""

    from tradepipe.contracts.api import FlattenRequest

    def read() -> tuple[Mode, str, str]:
        request = FlattenRequest.model_validate_json(event.body or "{}")
        return account(account_id), request.ticker, _who(request.by, event)

    return read


def _who(by: str | None, event: APIGatewayProxyEvent) -> str:
    """The body's `by`, else the caller's IAM ARN (the routes are SigV4-signed), else its address."""
    identity = event.request_context.identity
    return by or identity.user_arn or identity.source_ip or "unknown"


def answer_parts(produce: Callable[[], BaseModel | None], ok: int = 200) -> tuple[int, BaseModel]:
    """`ok` (200, or 202 for a request handed on) with what the use case produced, or the error it stands
    for: (status, body)."""
    from tradepipe.app.signal_feed import BadPageToken  # the read routes' only: not on the alert's import

    try:
        body = produce()
    except ValidationError as exc:
        return 422, error_body("rejected", "invalid request: see errors", field_errors(exc))
    except BadPageToken as exc:
        return 400, error_body("bad_request", str(exc), [ErrorEntry(field="page_token", message=str(exc))])
    except NotFound as exc:
        return 404, error_body("not_found", str(exc))
    if body is None:
        return 404, error_body("not_found", "no such record")
    return ok, body


def answer(produce: Callable[[], BaseModel | None], ok: int = 200) -> Response[str]:
    return json_response(*answer_parts(produce, ok))


def install_error_handlers(app: APIGatewayRestResolver, tools: LambdaTools) -> None:
    """A route that does not exist is a 404 in the one error shape; anything unexpected a 500 that says
    nothing of our internals (a store or queue down, never bad input: that has its 4xx above)."""

    @app.not_found
    def no_route(_: Exception) -> Response[str]:
        return error(404, "not_found", "no such route")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def on_exception(_: Exception) -> Response[str]:
        return json_response(*unexpected(tools))
