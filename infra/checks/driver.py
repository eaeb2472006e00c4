"""Runs inside the function's own interpreter: `python -I -S driver.py` with a JSON request on stdin.

    {"path": [code, layer..., runtime], "handler": "handler.lambda_handler", "event": {...},
     "function_name": "...", "timeout_s": 30, "memory_mb": 512, "record_aws_calls": false}

`-I -S`: no user site, no site-packages, no PYTHON* variables and no script directory on sys.path, so the
only third-party code the handler can import is what `path` names: the function's code, its layers and the
boto3/botocore the Lambda runtime ships, in the order Lambda searches them. Nothing is imported here before
the handler but the standard library. The last stdout line is the result, after the marker.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
import uuid
from typing import Any

MARKER = "TRADEPIPE-PACKAGING-RESULT "


class Context:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_s: int, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "packaging-check"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename.rsplit('/', 3)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _record_aws_calls(calls: list[dict[str, Any]]) -> None:
    """Every AWS call any botocore client makes, as the wire body botocore sends (JSON for the JSON-protocol
    services we call), so a bare handler can make the same calls (benchmarks/bench_cold_start.py). Imports
    botocore before the handler: a run that records is not a run to time."""
    from botocore import xform_name
    from botocore.session import Session

    original = Session.create_client
    # The API-level parameters of each operation's latest call: a query-protocol call (SNS) sends a form, not
    # JSON, so it is replayed from what the handler passed (plain strings for the calls we make).
    given: dict[str, Any] = {}

    def remember(params: dict[str, Any], model: Any, **_: Any) -> None:
        given[model.name] = json.loads(json.dumps(params, default=str))

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        wire = params.get("body")
        try:
            body = json.loads(wire or b"{}") if isinstance(wire, (bytes, str)) else given.get(model.name)
        except ValueError:
            body = None  # neither JSON nor a form: cannot be replayed
        service = model.service_model.service_name
        calls.append(
            {"service": service, "operation": model.name, "method": xform_name(model.name), "params": body}
        )

    def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(session, *args, **kwargs)
        client.meta.events.register("before-parameter-build.*.*", remember)
        client.meta.events.register("before-call.*.*", record)
        return client

    Session.create_client = create_client  # type: ignore[method-assign,assignment]


def main() -> int:
    request = json.loads(sys.stdin.read())
    sys.path[:0] = request["path"]
    calls: list[dict[str, Any]] = []
    if request.get("record_aws_calls"):
        _record_aws_calls(calls)
    module_name, _, attribute = request["handler"].rpartition(".")
    result: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except BaseException as exc:  # noqa: BLE001 - every failure is the answer
        result.update(imported=False, error=_error(exc))
    else:
        result["imported"] = True
    result["import_ms"] = round((time.perf_counter() - started) * 1000, 1)
    if result["imported"]:
        context = Context(request["function_name"], request["timeout_s"], request["memory_mb"])
        invoked = time.perf_counter()
        try:
            result["response"] = handler(request["event"], context)
            result["invoked"] = True
        except BaseException as exc:  # noqa: BLE001
            result.update(invoked=False, error=_error(exc))
        result["invoke_ms"] = round((time.perf_counter() - invoked) * 1000, 1)
    # Which path entry supplied each top-level package: the function's code, a layer or the runtime.
    roots = request["path"]
    result["origins"] = {
        name: next(root for root in roots if str(module.__file__).startswith(root))
        for name, module in sorted(sys.modules.items())
        if "." not in name and any(str(getattr(module, "__file__", "")).startswith(r) for r in roots)
    }
    if request.get("record_aws_calls"):
        result["aws_calls"] = calls
    sys.stdout.write("\n" + MARKER + json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
