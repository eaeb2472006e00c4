"""Interim entry point (replaced by the paper broker's own): `python -m tradepipe.local.paper_broker
--port P`,
keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from tradepipe.local.paper_broker.server import PaperBrokerServer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", default=None)
    parser.add_argument("--behaviour", default="instant")
    parser.add_argument("--always-open", action="store_true")
    parser.add_argument("--rate-limit", type=int, default=None)
    args = parser.parse_args()
    server = PaperBrokerServer(
        port=args.port, api_key=os.environ["APCA_API_KEY_ID"], secret_key=os.environ["APCA_API_SECRET_KEY"]
    ).start()
    sys.stdout.write(f"ready {server.url}\n")
    sys.stdout.flush()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
