"""Run the paper broker with uvicorn in a daemon thread, for tests and the local stack.

    with PaperBrokerServer(key_id="PK...", secret_key="...") as broker:     # port 0: the OS picks one
        client = TradingClient(broker.key_id, broker.secret_key, paper=True, url_override=broker.url)

Loopback only: any other address is refused, the broker is for this machine. Without keys, a fresh random
pair is made (read it from `key_id` / `secret_key`). Port 0 works without a find-a-free-port race:
`ThreadedServer` binds the socket before uvicorn starts.
"""

from __future__ import annotations

import ipaddress
import secrets

from tradepipe.local.http_server import ThreadedServer
from tradepipe.local.paper_broker.app import build_app
from tradepipe.local.paper_broker.facade import PaperBroker

DEFAULT_HOST = "127.0.0.1"


def require_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the paper broker listens on loopback only, not {host!r}")


def new_keys() -> tuple[str, str]:
    """A key pair shaped like Alpaca's paper keys (PK + 18, and a 40-character secret)."""
    return "PK" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30)


class PaperBrokerServer(ThreadedServer):
    """The paper broker's engine behind its Alpaca-compatible app, served like every local server."""

    def __init__(
        self,
        engine: PaperBroker | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        key_id: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        require_loopback(host)
        if key_id is None or secret_key is None:
            key_id, secret_key = new_keys()
        self.key_id = key_id
        self.secret_key = secret_key
        self.engine = engine if engine is not None else PaperBroker()
        app = build_app(self.engine, key_id=key_id, secret_key=secret_key)
        super().__init__(app, host, port, name="paper-broker")

    @property
    def headers(self) -> dict[str, str]:
        """The key headers, for callers that speak HTTP without alpaca-py (tests, the demo's market moves)."""
        return {"APCA-API-KEY-ID": self.key_id, "APCA-API-SECRET-KEY": self.secret_key}

    def start(self, timeout_s: float = 10.0) -> PaperBrokerServer:
        super().start(timeout_s)
        return self

    def __enter__(self) -> PaperBrokerServer:
        return self.start()
