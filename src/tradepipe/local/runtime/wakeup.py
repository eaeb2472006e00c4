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

from tradepipe.local.runtime.thread_names import show_name

# What a ring announces, so a worker wakes only for its own work: an alert's commit wakes the relay, which
# wakes the risk pollers and the indexer, not the executors and the schedules (each wake-up of a poller is a
# query).
INBOX, SIGNALS, INTENTS, CHANGES, SCHEDULES = "inbox", "signals", "intents", "changes", "schedules"
ANY = "*"  # every ring, whatever it announces
# A queue's pollers are interchangeable: a ring for their queue wakes one of them (any poller not waiting
# looks at the queue again before it waits: `generation`). Woken all, every poller but the first found the
# queue empty, a query each (~40 us of the workers' CPU an alert per queue). A ring without a topic (the
# workers stopping) still wakes every waiter.
_ONE_WAKES = frozenset({SIGNALS, INTENTS})


class Doorbell:
    """Listens on `path` (a Unix datagram socket); any number of threads wait on it, each for a topic."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._lock = threading.Lock()
        self._rung: dict[str, threading.Condition] = {}
        self._generations: dict[str, int] = {}
        # `run:<schedule>` datagrams (the demo and `tradepipe reconcile` asking for a run now) go here.
        self.on_command: Callable[[str], None] = lambda _name: None
        self._listener = threading.Thread(target=self._listen, name="doorbell", daemon=True)
        self._listener.start()
        show_name(self._listener)  # its CPU told apart per thread (`top -H`, the bench)

    def _listen(self) -> None:
        while True:
            try:
                payload = self._sock.recv(64)
            except OSError:
                return
            if payload.startswith(b"run:"):
                self.on_command(payload[4:].decode("ascii", "replace"))
                self.ring(SCHEDULES)
            else:
                self.ring(INBOX)  # the intake committed alerts

    def _condition(self, topic: str) -> threading.Condition:
        condition = self._rung.get(topic)
        if condition is None:
            condition = self._rung.setdefault(topic, threading.Condition(self._lock))
        return condition

    def ring(self, *topics: str) -> None:
        """Wake the waiters of `topics` (one poller of a queue) and of ANY; no topic: every waiter (also
        called in-process: the risk stage wakes the executors this way)."""
        with self._lock:
            named = topics or tuple(self._rung)
            for topic in {*named, ANY}:
                self._generations[topic] = self._generations.get(topic, 0) + 1
                if topics and topic in _ONE_WAKES:
                    self._condition(topic).notify()
                else:
                    self._condition(topic).notify_all()

    def generation(self, topic: str = ANY) -> int:
        return self._generations.get(topic, 0)

    def wait(self, seen: int, timeout: float, topic: str = ANY) -> int:
        """Wait until `topic` is rung after `seen` (its generation read before looking for work) or
        `timeout`."""
        with self._lock:
            self._condition(topic).wait_for(lambda: self._generations.get(topic, 0) != seen, timeout)
            return self._generations.get(topic, 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


class Waker:
    def __init__(self, path: Path) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # Never wait for room: a Unix datagram queue holds few datagrams (net.unix.max_dgram_qlen, 10 by
        # default), and a blocking send to workers that are busy, stalled or stopped would hold the intake's
        # writer thread, so no alert would be answered. A full queue already holds a wake-up.
        self._sock.setblocking(False)
        self._address = str(path)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # best effort: the workers poll as well
            self._sock.sendto(b"!", self._address)

    def run_now(self, schedule: str) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendto(b"run:" + schedule.encode("ascii"), self._address)
