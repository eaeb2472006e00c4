"""Secure by default, checked on a running `tradepipe local`: it listens on loopback only and on no port but
the webhook's, the operator's, the broker's and the search server's; no endpoint serves a secret; the broker
refuses requests without its keys; the operator refuses state changes without the token or from another
site."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.local_stack import RunningLocal

pytestmark = pytest.mark.e2e


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def _descendants(root: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = {root}, [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    return inodes


def _listening(inodes: set[str]) -> set[tuple[str, str, int]]:
    """(protocol, address, port) of every listening TCP socket and bound UDP socket among `inodes`."""
    found: set[tuple[str, str, int]] = set()
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode not in inodes or (proto.startswith("tcp") and state != "0A"):
                continue
            address, port = local.split(":")
            found.add((proto, address, int(port, 16)))
    return found


def test_runtime_listens_on_loopback_and_only_its_four_ports(local_stack: RunningLocal) -> None:
    info = json.loads((local_stack.state_dir / "runtime.json").read_text())
    pids = _descendants(info["pids"]["supervisor"])

    listening = _listening(_socket_inodes(pids))

    expected = {
        _port(url)
        for url in (
            local_stack.webhook_url,
            local_stack.operator_url,
            local_stack.broker_url,
            local_stack.search_url,
        )
    }
    assert {port for _, _, port in listening} == expected
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1, as /proc writes them
    assert {address for _, address, _ in listening} <= loopback


def _secrets(local_stack: RunningLocal) -> list[str]:
    doc = json.loads((local_stack.state_dir / "secrets.json").read_text())
    values = [
        *doc["webhook"].values(),
        doc["alpaca"]["paper"]["api_key"],
        doc["alpaca"]["paper"]["secret_key"],
    ]
    return [*values, local_stack.token]


def test_no_endpoint_serves_a_secret(local_stack: RunningLocal) -> None:
    operator = local_stack.operator()
    keys = {"APCA-API-KEY-ID": local_stack.broker_key, "APCA-API-SECRET-KEY": local_stack.broker_secret}
    answers = [
        httpx.get(local_stack.webhook_url.removesuffix("/webhook") + path)
        for path in ("/", "/secrets", "/webhook", "/signals", "/trading-state/paper", "/.env")
    ]
    answers += [httpx.post(local_stack.webhook_url, content=b"passphrase=wrong")]
    answers += [
        operator.get(path)
        for path in (
            "/",
            "/static/app.js",
            "/signals",
            "/trading-state/paper",
            "/ui/summary",
            "/ui/portfolio",
        )
    ]
    answers += [
        httpx.get(f"{local_stack.broker_url}{path}", headers=keys)
        for path in ("/v2/account", "/v2/positions", "/v2/orders", "/v2/clock")
    ]
    answers += [httpx.get(f"{local_stack.search_url}/_all/_search?size=1000")]

    texts = [a.text + json.dumps(dict(a.headers)) for a in answers]

    assert not [secret for secret in _secrets(local_stack) for text in texts if secret in text]


def test_broker_refuses_requests_without_its_keys(local_stack: RunningLocal) -> None:
    bare = httpx.get(f"{local_stack.broker_url}/v2/account")
    wrong = httpx.get(
        f"{local_stack.broker_url}/v2/account",
        headers={"APCA-API-KEY-ID": local_stack.broker_key, "APCA-API-SECRET-KEY": "not-the-secret"},
    )
    right = httpx.get(
        f"{local_stack.broker_url}/v2/account",
        headers={"APCA-API-KEY-ID": local_stack.broker_key, "APCA-API-SECRET-KEY": local_stack.broker_secret},
    )

    assert bare.status_code in (401, 403)
    assert wrong.status_code in (401, 403)
    assert right.status_code == 200


def test_operator_refuses_a_state_change_without_token_or_from_another_site(
    local_stack: RunningLocal,
) -> None:
    url = f"{local_stack.operator_url}/trading-state/paper"
    body = {"state": "HALTED", "reason": "should not happen"}

    no_token = httpx.post(url, json=body)
    cross_site = httpx.post(
        url, json=body, headers={"X-Tradepipe-Token": local_stack.token, "Sec-Fetch-Site": "cross-site"}
    )
    tunneled_host = httpx.post(url, json=body, headers={"X-Tradepipe-Token": "guess", "Host": "127.0.0.1"})

    assert (no_token.status_code, cross_site.status_code, tunneled_host.status_code) == (403, 403, 403)
    assert local_stack.operator().get("/trading-state/paper").json()["state"] == "ACTIVE"


def test_webhook_port_serves_only_the_webhook(local_stack: RunningLocal) -> None:
    base = local_stack.webhook_url.removesuffix("/webhook")

    halt = httpx.post(f"{base}/trading-state/paper", json={"state": "HALTED"})
    feed = httpx.get(f"{base}/signals")

    assert (halt.status_code, feed.status_code) == (404, 404)
