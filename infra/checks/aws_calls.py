"""Every AWS API call our handlers make, recorded where it is made and credited to the function that made it.

    recorder = AwsCallRecorder(handler_owner)         # frame -> function name, or None
    with recorder:
        ... invoke handlers in this process (the integration tests do) ...
    recorder.calls                                     # [AwsCall(function, service, operation, params)]

How: botocore's event system. While recording, every client any botocore session creates (boto3's
clients and resources, Powertools' own Secrets Manager client, ours from `tradepipe.composition`) gets a
`provide-client-params.*.*` handler, which botocore emits before each call with the operation model and the
parameters exactly as the caller passed them. Hooking client creation rather than one session catches
clients our composition root does not build (Powertools' `parameters.get_secret` makes its own session).
Clients created before `start()` are not hooked: drop cached clients first (`composition.reset()`).

Why not moto's request log: the integration tests run every handler in one process with one set of
credentials, so the server cannot tell which function called; the caller's stack can. A call is credited to
the outermost frame `owner` recognises (a handler's `lambda_handler`); calls made outside any handler
(fixtures arranging or reading state) are not recorded.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from botocore.session import Session

# A frame -> the function it belongs to (a handler's frame), or None.
Owner = Callable[[FrameType], str | None]


@dataclass(frozen=True)
class AwsCall:
    function: str
    service: str  # botocore's service name: dynamodb, dynamodbstreams, sqs, secretsmanager, events
    operation: str  # the API operation: PutItem, SendMessage, GetSecretValue
    params: Mapping[str, Any]  # top-level parameters as passed (a shallow copy)

    def __str__(self) -> str:
        return f"{self.function}: {self.service}.{self.operation}"


class AwsCallRecorder:
    def __init__(self, owner: Owner) -> None:
        self._owner = owner
        self._calls: list[AwsCall] = []
        self._lock = threading.Lock()
        self._original: Any = None

    @property
    def calls(self) -> list[AwsCall]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def start(self) -> AwsCallRecorder:
        if self._original is not None:
            raise RuntimeError("already recording")
        original = Session.create_client
        record = self._record

        def create_client(session: Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("provide-client-params.*.*", record)
            return client

        self._original = original
        Session.create_client = create_client  # type: ignore[method-assign,assignment]
        return self

    def stop(self) -> None:
        if self._original is not None:
            Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    def __enter__(self) -> AwsCallRecorder:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _record(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        function = self._caller()
        if function is None:
            return
        # A shallow copy: boto3's DynamoDB transformations replace top-level values after this event.
        call = AwsCall(function, model.service_model.service_name, model.name, dict(params))
        with self._lock:
            self._calls.append(call)

    def _caller(self) -> str | None:
        frame = inspect.currentframe()
        found = None
        while frame is not None:
            found = self._owner(frame) or found  # the outermost handler frame wins
            frame = frame.f_back
        return found
