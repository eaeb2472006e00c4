"""A scripted HTTP transport and a clock that sleeping advances: delivery driven step by step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tradepipe.notify.senders import HttpAnswer, TransportError


class SleepClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass(frozen=True)
class Post:
    url: str
    body: dict[str, Any]
    at: datetime
    status: int  # 0: no answer


@dataclass
class ScriptedTransport:
    """Answers each URL from its script (an HttpAnswer, or TransportError for no answer), then 200."""

    clock: SleepClock
    scripts: dict[str, list[HttpAnswer | TransportError]] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)

    def post_json(self, url: str, body: Mapping[str, Any], timeout_s: float) -> HttpAnswer:
        script = self.scripts.get(url)
        answer = script.pop(0) if script else HttpAnswer(200, {}, b"ok")
        status = 0 if isinstance(answer, TransportError) else answer.status
        self.posts.append(Post(url, dict(body), self.clock.now(), status))
        if isinstance(answer, TransportError):
            raise answer
        return answer

    def accepted(self, url: str) -> list[Post]:
        return [p for p in self.posts if p.url == url and 200 <= p.status < 300]

    def tried(self, url: str) -> list[Post]:
        return [p for p in self.posts if p.url == url]
