"""Local HTTP servers standing in for Slack, Discord, Telegram and a generic JSON webhook.

Each checks what its service checks (the body's shape, Discord's 2,000 and Telegram's 4,096 character
limits, Telegram's `/bot<token>/sendMessage` path) and answers as the service does; a script of answers
(429s, 5xx) can be queued before the normal one, and `stop()`/`start()` make it refuse connections.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.notify_samples import DISCORD_TOKEN, SLACK_TOKEN, TELEGRAM_TOKEN, WEBHOOK_TOKEN


@dataclass(frozen=True)
class Received:
    path: str
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class StandIn:
    """One service. `kind`: slack, discord, telegram or webhook."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def channel_url(self) -> str:
        match self.kind:
            case "slack":
                return f"slack+{self.base}/services/T0001/B0001/{SLACK_TOKEN}"
            case "discord":
                return f"discord+{self.base}/api/webhooks/1234567890/{DISCORD_TOKEN}"
            case "telegram":
                return f"telegram://{TELEGRAM_TOKEN}@987654321"  # with the API base pointed here
            case _:
                return f"{self.base}/notify?token={WEBHOOK_TOKEN}"

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = stand_in._answer(self.path, body)
                with stand_in._lock:
                    stand_in.received.append(Received(self.path, body, answer.status))
                payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:  # quiet test output
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    def stop(self) -> None:
        """Close the socket: connections are refused until `start()` (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Any]:
        """The JSON bodies the service accepted."""
        with self._lock:
            return [r.json for r in self.received if 200 <= r.status < 300]

    def texts(self) -> list[str]:
        key = {"discord": "content"}.get(self.kind, "text")
        return [body[key] for body in self.delivered()]

    def _answer(self, path: str, raw: bytes) -> Answer:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        try:
            body = json.loads(raw)
        except ValueError:
            return Answer(400, {"message": "invalid JSON"})
        return self._normal(path, body)

    def _normal(self, path: str, body: dict[str, Any]) -> Answer:
        match self.kind:
            case "slack":
                ok = path.endswith(SLACK_TOKEN) and isinstance(body.get("text"), str) and body["text"]
                return Answer(200) if ok else Answer(400, {"error": "no_text"})
            case "discord":
                content = body.get("content", "")
                if not content or _units(content) > 2000:
                    return Answer(400, {"content": ["Must be 2000 or fewer in length."], "code": 50035})
                return Answer(204)
            case "telegram":
                if path != f"/bot{TELEGRAM_TOKEN}/sendMessage":
                    return Answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                text = body.get("text", "")
                if body.get("chat_id") != "987654321" or not 1 <= _units(text) <= 4096:
                    return Answer(400, {"ok": False, "error_code": 400, "description": "Bad Request"})
                return Answer(200, {"ok": True, "result": {"message_id": len(self.received) + 1}})
            case _:
                return Answer(200, {"received": True}) if "text" in body else Answer(422)
