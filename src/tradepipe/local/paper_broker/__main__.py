"""The paper broker as its own process:

    python -m tradepipe.local.paper_broker --state-dir DIR --port P [--behaviour alpaca|instant]
        [--always-open] [--key-id K --secret-key S]

It keeps its state in DIR/paper-broker.sqlite3 and serves on 127.0.0.1:P until SIGTERM or Ctrl-C; a
restart finds every order, position and fill. Its key pair, in order: the flags (a secret on a command
line is visible to every local user in the process list: prefer the others), the environment
(`TRADEPIPE_PAPER_BROKER_KEY_ID`, `TRADEPIPE_PAPER_BROKER_SECRET_KEY`), or DIR/paper-broker-keys.json
(0600), created with a fresh pair on first start. The secret is never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from tradepipe.local.paper_broker.behaviour import BrokerBehaviour
from tradepipe.local.paper_broker.facade import PaperBroker
from tradepipe.local.paper_broker.server import DEFAULT_HOST, PaperBrokerServer, new_keys
from tradepipe.local.paper_broker.store import SqliteStore

KEYS_FILE = "paper-broker-keys.json"
KEY_ENV, SECRET_ENV = "TRADEPIPE_PAPER_BROKER_KEY_ID", "TRADEPIPE_PAPER_BROKER_SECRET_KEY"  # noqa: S105
log = logging.getLogger("tradepipe.paper_broker")


def keys_for(state_dir: Path, key_id: str | None, secret_key: str | None) -> tuple[str, str, str]:
    """The key pair and where it came from (flags, environment, or the state dir's keys file)."""
    if key_id and secret_key:
        return key_id, secret_key, "command line"
    env_key, env_secret = os.environ.get(KEY_ENV), os.environ.get(SECRET_ENV)
    if env_key and env_secret:
        return env_key, env_secret, "environment"
    path = state_dir / KEYS_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        return str(stored["key_id"]), str(stored["secret_key"]), str(path)
    key_id, secret_key = new_keys()
    # Created 0600 from the start: there is no moment at which another user could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"key_id": key_id, "secret_key": secret_key}, handle)
    return key_id, secret_key, str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradepipe.local.paper_broker")
    parser.add_argument("--state-dir", type=Path, required=True, help="its SQLite file and keys file go here")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--host", default=DEFAULT_HOST, help="a loopback address (anything else is refused)")
    parser.add_argument("--key-id")
    parser.add_argument("--secret-key", help="shows in the process list: prefer the environment or keys file")
    parser.add_argument("--behaviour", choices=("alpaca", "instant"), default="alpaca")
    parser.add_argument("--always-open", action="store_true", help="never closes (default: NYSE hours)")
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests a minute per key (default: the behaviour's)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_id, secret_key, source = keys_for(state_dir, args.key_id, args.secret_key)
    overrides: dict[str, object] = {"always_open": True} if args.always_open else {}
    if args.rate_limit is not None:
        overrides["rate_limit_per_minute"] = args.rate_limit
    behaviour = BrokerBehaviour.named(args.behaviour, **overrides)
    engine = PaperBroker(behaviour=behaviour, store=SqliteStore.in_dir(state_dir))
    server = PaperBrokerServer(engine, host=args.host, port=args.port, key_id=key_id, secret_key=secret_key)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    hours = "always open" if behaviour.always_open else "NYSE hours"
    log.info(
        "paper broker on %s (%s, %s), state in %s, key id %s from %s",
        server.url,
        behaviour.name,
        hours,
        state_dir,
        key_id,
        source,
    )
    # One line on stdout when it serves: what a supervisor waits for.
    sys.stdout.write(json.dumps({"ready": True, "url": server.url}) + "\n")
    sys.stdout.flush()
    stop.wait()
    server.stop()
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
