"""Run the paper broker with uvicorn in a daemon thread, for tests and the local stack.

    with PaperBrokerServer() as broker:          # port 0: the OS picks a free port
        client = TradingClient("key", "secret", paper=True, url_override=broker.url)

Port 0 works without a find-a-free-port race: `ThreadedServer` binds the socket before uvicorn starts.
"""

from __future__ import annotations

from tradepipe.local.http_server import ThreadedServer
from tradepipe.local.paper_broker.app import build_app
from tradepipe.local.paper_broker.engine import PaperBroker

DEFAULT_HOST = "127.0.0.1"


class PaperBrokerServer(ThreadedServer):
    """The paper broker's engine behind its Alpaca-compatible app, served like every local server."""

    def __init__(
        self,
        engine: PaperBroker | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        api_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.engine = engine if engine is not None else PaperBroker()
        super().__init__(
            build_app(self.engine, api_key=api_key, secret_key=secret_key), host, port, name="paper-broker"
        )

    def start(self, timeout_s: float = 10.0) -> PaperBrokerServer:
        super().start(timeout_s)
        return self

    def __enter__(self) -> PaperBrokerServer:
        return self.start()
