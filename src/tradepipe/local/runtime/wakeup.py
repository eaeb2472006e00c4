"""Waking the workers the moment there is work, across processes: a one-byte datagram on a Unix socket in the
state directory (no network port: only the directory's owner can reach it).

A worker that found nothing waits on `Doorbell.wait(timeout)`; a producer in another process rings with
`Waker.wake()` after its commit. A lost datagram costs at most the wait's timeout (the worker polls anyway),
so this is an optimization of latency, never of correctness."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path


class Doorbell:
    """Listens on `path` (a Unix datagram socket); any number of threads wait on it."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._rung = threading.Condition()
        self._generation = 0
        # `run:<schedule>` datagrams (the demo and `tradepipe reconcile` asking for a run now) go here.
        self.on_command: Callable[[str], None] = lambda _name: None
        self._listener = threading.Thread(target=self._listen, name="doorbell", daemon=True)
        self._listener.start()

    def _listen(self) -> None:
        while True:
            try:
                payload = self._sock.recv(64)
            except OSError:
                return
            if payload.startswith(b"run:"):
                self.on_command(payload[4:].decode("ascii", "replace"))
            self.ring()

    def ring(self) -> None:
        """Wake every waiter (also called in-process: the risk stage wakes the executor this way)."""
        with self._rung:
            self._generation += 1
            self._rung.notify_all()

    def generation(self) -> int:
        return self._generation

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until rung after `seen` (a generation read before looking for work) or `timeout`."""
        with self._rung:
            self._rung.wait_for(lambda: self._generation != seen, timeout)
            return self._generation

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


class Waker:
    def __init__(self, path: Path) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._address = str(path)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # best effort: the workers poll as well
            self._sock.sendto(b"!", self._address)

    def run_now(self, schedule: str) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendto(b"run:" + schedule.encode("ascii"), self._address)
