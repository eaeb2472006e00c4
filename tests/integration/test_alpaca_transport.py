"""The Alpaca adapters' session sends alpaca-py's requests straight over urllib3 (adapters/lean_http.py): what
the server receives, what the caller reads back and which exception a failure raises must be requests' own,
and whatever the lean path does not do (proxies) must still go through requests."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.intents import open_intent
from tradepipe.adapters.http import TimeoutSession
from tradepipe.local.http_server import free_port
from tradepipe.ports.broker import BrokerRejected, BrokerUnavailable

KEYS = {
    "APCA-API-KEY-ID": "PKTEST",
    "APCA-API-SECRET-KEY": "not-a-real-secret",
    "User-Agent": "APCA-PY/0.44.0",
}
SLOW_S = 1.0


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with what it received; `/slow` answers after SLOW_S, `/error` with a 422,
    `/gzip` gzip-encoded, `/plain` as text without a charset."""

    seen: list[dict[str, Any]]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = {
            "method": self.command,
            "target": self.path,
            "body": self.rfile.read(length).decode() if length else None,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        self.seen.append(received)
        if self.path.startswith("/slow"):
            time.sleep(SLOW_S)
        status = 422 if self.path.startswith("/error") else 200
        body = json.dumps(
            {"code": 40010001, "message": "client_order_id must be unique", "got": received}, sort_keys=True
        ).encode()
        content_type = "application/json"
        if self.path.startswith("/plain"):
            body, content_type = "plain \u00e9".encode(), "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-RateLimit-Remaining", "199")
        if self.path.startswith("/gzip"):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(context: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "https_proxy",
        "http_proxy",
        "all_proxy",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def server(no_proxy_env: None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield from _serve()


@pytest.fixture
def requests_sends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs that went through requests' own Session.send."""
    sent: list[str] = []
    real = requests.Session.send

    def counting(
        self: requests.Session, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        sent.append(str(request.url))
        return real(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    return sent


def _as_alpaca_py(session: requests.Session, method: str, url: str, data: Any = None) -> requests.Response:
    # alpaca/common/rest.py `_request`: params for GET and DELETE, a JSON body otherwise, no redirects.
    opts: dict[str, Any] = {"headers": dict(KEYS), "allow_redirects": False}
    opts["params" if method in ("GET", "DELETE") else "json"] = data
    return session.request(method, url, **opts)


CALLS = [
    ("GET", "/v2/orders", {"status": "open", "symbols": ["AAPL", "MSFT"], "after": None, "limit": 500}),
    ("GET", "/v2/orders:by_client_order_id", {"client_order_id": "tp-s open/1+é"}),
    ("GET", "/v2/positions", None),
    ("GET", "/v2/stocks/quotes/latest?feed=iex", {"symbols": "AAPL"}),
    ("POST", "/v2/orders", {"symbol": "AAPL", "qty": 1.5, "side": "buy", "client_order_id": "c-1"}),
    ("DELETE", "/v2/orders/abc", None),
    ("PATCH", "/v2/orders/abc", {"qty": "2"}),
    ("GET", "/error", None),
    ("GET", "/gzip", {"a": "1"}),
    ("GET", "/plain", None),
]


@pytest.mark.parametrize(("method", "path", "data"), CALLS)
def test_when_alpaca_py_sends_then_the_lean_path_sends_and_answers_what_requests_would(
    server: tuple[str, list[dict[str, Any]]], requests_sends: list[str], method: str, path: str, data: Any
) -> None:
    base, seen = server

    ours = _as_alpaca_py(TimeoutSession(5), method, base + path, data)
    assert requests_sends == []  # requests' own path was not taken
    theirs = _as_alpaca_py(requests.Session(), method, base + path, data)

    assert seen[0] == seen[1]  # the same request line, headers and body reached the server
    assert (ours.status_code, ours.reason, ours.encoding, ours.url) == (
        theirs.status_code,
        theirs.reason,
        theirs.encoding,
        theirs.url,
    )
    assert ours.content == theirs.content
    assert ours.text == theirs.text
    assert {k: v for k, v in ours.headers.items() if k != "Date"} == {
        k: v for k, v in theirs.headers.items() if k != "Date"
    }
    assert ours.headers["x-ratelimit-remaining"] == "199"  # case-insensitive, as alpaca-py's callers read it
    assert ours.ok is theirs.ok
    if not ours.ok:
        with pytest.raises(requests.HTTPError) as raised:
            ours.raise_for_status()
        assert raised.value.response is ours


# A read and an order go over libcurl, a cancel (and a replace) over urllib3 (adapters/curl_http.py): each
# failure is checked on each.
BOTH_PATHS = pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])


@BOTH_PATHS
def test_when_the_connection_is_refused_then_connection_error_and_nothing_sent(
    no_proxy_env: None, requests_sends: list[str], method: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/orders"

    with pytest.raises(requests.ConnectionError) as raised:
        _as_alpaca_py(TimeoutSession(5), method, url, {"client_order_id": "c-1"})

    assert requests_sends == []  # the lean path's own mapping of urllib3's failure
    # Not a timeout: the order cannot have reached the broker.
    assert not isinstance(raised.value, requests.Timeout)


@BOTH_PATHS
def test_when_the_answer_is_late_then_read_timeout_after_the_request_was_received(
    server: tuple[str, list[dict[str, Any]]], requests_sends: list[str], method: str
) -> None:
    base, seen = server

    with pytest.raises(requests.ReadTimeout):
        _as_alpaca_py(TimeoutSession(SLOW_S / 4), method, base + "/slow", {"client_order_id": "c-1"})

    assert requests_sends == []  # the lean path's own mapping of urllib3's failure
    # Sent: its outcome is unknown to the caller.
    assert [s["target"].split("?")[0] for s in seen] == ["/slow"]
    # The same session goes on working on a fresh connection.
    assert _as_alpaca_py(TimeoutSession(5), "GET", base + "/v2/clock").status_code == 200


def test_when_a_proxy_applies_to_the_host_then_requests_sends_through_it(
    server: tuple[str, list[dict[str, Any]]], requests_sends: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, proxied = server
    monkeypatch.setenv("http_proxy", proxy)
    target = f"http://127.0.0.1:{free_port()}/v2/clock"  # nothing listens there: only the proxy answers

    answer = _as_alpaca_py(TimeoutSession(5), "GET", target)

    assert answer.status_code == 200
    assert requests_sends == [target]
    assert [s["target"] for s in proxied] == [target]  # the absolute form a proxy receives


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@BOTH_PATHS
def test_tls_certificates_are_verified_against_certifi_or_the_environments_bundle(
    tmp_path: Path,
    no_proxy_env: None,
    requests_sends: list[str],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    for base, seen in _serve(context):
        # certifi's bundle (what requests verifies with) does not hold a self-signed certificate.
        with pytest.raises(requests.exceptions.SSLError):
            _as_alpaca_py(TimeoutSession(5), method, base + "/v2/orders", {"client_order_id": "c-1"})
        assert seen == []

        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        answer = _as_alpaca_py(TimeoutSession(5), method, base + "/v2/orders", {"client_order_id": "c-1"})

        assert answer.status_code == 200
        assert [s["method"] for s in seen] == [method]
        assert requests_sends == []


def test_a_plain_http_host_loads_no_ca_bundle_as_requests_does_not(
    tmp_path: Path,
    server: tuple[str, list[dict[str, Any]]],
    requests_sends: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The local paper broker is plain HTTP: requests never reads the CA bundle for it, and loading one
    # (~20 ms) in each new session was on the first alert's path. A bundle that cannot load proves it.
    base, _ = server
    empty = tmp_path / "empty-bundle.pem"
    empty.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(empty))

    answer = _as_alpaca_py(TimeoutSession(5), "GET", base + "/v2/clock")

    assert answer.status_code == 200
    assert requests_sends == []


@contextmanager
def _drops_second_request(
    later: dict[tuple[str, str], tuple[int, Any]] | None = None,
) -> Iterator[tuple[str, list[str]]]:
    """Answers the first request on the first connection and keeps it alive; reads the second whole and closes
    the connection without a byte of answer (a broker that took the request and then lost the connection).
    Every other request is answered: `later` by its method and path (status, JSON), else 200 `{}`."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[str] = []
    dropped = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            for turn in range(10):
                line = stream.readline().decode()
                if not line:
                    return
                length = 0
                while (header := stream.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                stream.read(length)
                method, target = line.split()[:2]
                received.append(method)
                if turn == 1 and not dropped.is_set():
                    dropped.set()
                    return  # taken, never answered
                status, answer = (later or {}).get((method, target.split("?")[0]), (200, {}))
                body = json.dumps(answer).encode()
                head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
                conn.sendall(head.encode() + b"\r\n\r\n" + body)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("method", "data"),
    [
        ("POST", {"symbol": "AAPL"}),
        ("POST", {"client_order_id": ""}),
        ("DELETE", None),
        ("PATCH", {"qty": "2"}),
    ],
)
def test_a_request_without_a_key_the_broker_keeps_unique_is_sent_once_and_its_outcome_reported_unknown(
    no_proxy_env: None, method: str, data: Any
) -> None:
    # libcurl would send it again on a fresh connection (a reused connection that died before any answer):
    # the broker would then answer a second copy, or place it twice. urllib3 sends it once and raises
    # (adapters/curl_http.py says which requests go over libcurl).
    with _drops_second_request() as (base, received):
        session = TimeoutSession(5)
        assert _as_alpaca_py(session, method, base + "/v2/orders", data).ok

        with pytest.raises(requests.ConnectionError):
            _as_alpaca_py(session, method, base + "/v2/orders", data)

        assert received == [method, method]


@pytest.mark.parametrize(
    "refusal",
    [
        (422, {"code": 40010001, "message": "client_order_id must be unique"}),
        # Alpaca may check what the first copy now holds before the id: refused for another reason.
        (403, {"code": 40310000, "message": "insufficient qty available for order"}),
    ],
)
def test_an_order_taken_then_unanswered_is_sent_again_by_libcurl_and_found_not_placed_twice(
    no_proxy_env: None, refusal: tuple[int, dict[str, Any]]
) -> None:
    # The second copy of an order carries the same client order id: Alpaca refuses it, and the adapter looks
    # the order up by its id and answers with the one the first copy placed (AlpacaBroker._place).
    from tradepipe.adapters.alpaca import AlpacaBroker
    from tradepipe.domain.model import Mode

    placed = {
        "id": "6f1c2b9e-0d3a-4c55-9b1e-2f4a8d7c6e01",
        "client_order_id": "tp-c-1-open",
        "symbol": "AAPL",
        "qty": "1",
        "filled_qty": "0",
        "side": "buy",
        "status": "accepted",
        "order_class": "simple",
        "type": "market",
        "submitted_at": "2026-12-05T14:30:00Z",
        "legs": None,
    }
    with _drops_second_request(
        later={
            ("POST", "/v2/orders"): refusal,
            ("GET", "/v2/orders:by_client_order_id"): (200, placed),
        }
    ) as (base, received):
        broker = AlpacaBroker(Mode.PAPER, "PKTEST", "not-a-real-secret", url_override=base)
        broker._client.get_clock()  # the first exchange keeps the connection alive

        order = broker.submit(open_intent("c-1", "AAPL", stop_loss=Decimal("190")))

        assert order.broker_order_id == "6f1c2b9e-0d3a-4c55-9b1e-2f4a8d7c6e01"
        assert received == ["GET", "POST", "POST", "GET"]  # the copy refused, the first found by its id


def test_a_read_goes_over_libcurl_which_asks_again_on_a_fresh_connection(no_proxy_env: None) -> None:
    # What tells the two paths apart on the wire: harmless for a read, and the reason orders stay on urllib3.
    with _drops_second_request() as (base, received):
        session = TimeoutSession(5)
        assert _as_alpaca_py(session, "GET", base + "/v2/positions").ok

        assert _as_alpaca_py(session, "GET", base + "/v2/positions").ok

        assert received == ["GET", "GET", "GET"]


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_read_trusts_the_bundle_requests_would_and_no_other(
    tmp_path: Path, no_proxy_env: None, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # libcurl fills in its built-in default for whichever of CA file and CA directory is not set (the
    # system's bundle), which requests never reads: trust wider than the orders' path, or every read
    # failing where that default is missing. What libcurl says it loads is the evidence.
    import pycurl

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    bundle = cert if kind == "file" else tmp_path  # a directory: OpenSSL looks certificates up by hash
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    for base, _seen in _serve(context):
        session = TimeoutSession(5)
        told: list[bytes] = []
        handle, _ = session._lean._curl._handle(str(bundle))  # the handle this thread's reads use for it
        handle.setopt(pycurl.VERBOSE, 1)
        handle.setopt(
            pycurl.DEBUGFUNCTION, lambda kind, data, told=told: told.append(data) if kind == 0 else None
        )

        try:
            _as_alpaca_py(session, "GET", base + "/v2/clock")
        except requests.exceptions.SSLError:
            assert kind == "directory"  # its certificate is not under its hash name: not found, refused

        said = [line.strip().partition(":") for line in b"".join(told).decode().splitlines()]
        named = {name: value.strip() for name, _, value in said if name in ("CAfile", "CApath")}
        mine, other = ("CAfile", "CApath") if kind == "file" else ("CApath", "CAfile")
        assert named[mine] == str(bundle)
        assert named.get(other, "none") == "none"


def test_a_read_sends_no_header_requests_would_refuse_or_leave_out(
    server: tuple[str, list[dict[str, Any]]], requests_sends: list[str]
) -> None:
    base, seen = server
    injected = {**KEYS, "APCA-API-SECRET-KEY": "secret\r\nX-Injected: 1"}

    with pytest.raises(requests.exceptions.InvalidHeader):
        TimeoutSession(5).request("GET", base + "/v2/clock", headers=injected, allow_redirects=False)
    assert seen == []  # nothing sent

    # A header the caller removes (None) is not sent, not even libcurl's own Accept.
    ours, theirs = TimeoutSession(5), requests.Session()
    for session in (ours, theirs):
        session.headers["Accept"] = None  # type: ignore[assignment]
        session.request("GET", base + "/v2/clock", headers=dict(KEYS), allow_redirects=False)
    assert requests_sends == [base + "/v2/clock"]  # the second, requests' own
    assert "accept" not in seen[0]["headers"]
    assert seen[0]["headers"] == seen[1]["headers"]


def test_a_query_built_once_is_reused_only_for_the_same_url_and_parameters(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    # lean_http keeps the URLs it built with their query, and curl_http the header lines it checked: a key
    # too loose would send one ticker's quote request for another, or keep a secret that changed.
    base, seen = server
    session = TimeoutSession(5)
    for symbol in ("MSFT", "AAPL", "MSFT"):
        _as_alpaca_py(session, "GET", base + "/v2/stocks/quotes/latest", {"symbols": symbol, "feed": None})
    _as_alpaca_py(session, "GET", base + "/v2/stocks/quotes/latest", {"symbols": ["IBM", "GE"]})
    rotated = {**KEYS, "APCA-API-SECRET-KEY": "rotated"}
    session.request("GET", base + "/v2/account", headers=rotated, allow_redirects=False)

    assert [s["target"] for s in seen[:4]] == [
        "/v2/stocks/quotes/latest?symbols=MSFT",
        "/v2/stocks/quotes/latest?symbols=AAPL",
        "/v2/stocks/quotes/latest?symbols=MSFT",
        "/v2/stocks/quotes/latest?symbols=IBM&symbols=GE",
    ]
    assert seen[4]["headers"]["apca-api-secret-key"] == "rotated"


_DUPLICATE = (422, {"code": 40010001, "message": "client_order_id must be unique"})
_NO_BUYING_POWER = (403, {"code": 40310000, "message": "insufficient buying power"})


@pytest.mark.parametrize(
    ("refusal", "resent", "raised", "sent"),
    [
        # The copy's refusal raced the first copy's record: nothing final is known, the message is retried.
        (_DUPLICATE, True, BrokerUnavailable, ["GET", "POST", "POST", "GET"]),
        # The copy refused for what the first copy holds, the first not visible yet: it may be live, so the
        # refusal is not taken as final (it would record a live order rejected).
        (_NO_BUYING_POWER, True, BrokerUnavailable, ["GET", "POST", "POST", "GET"]),
        # Sent once and refused: an order that is not at the broker, final, and nothing to look up.
        (_NO_BUYING_POWER, False, BrokerRejected, ["POST"]),
    ],
)
def test_an_order_refused_and_not_found_is_final_only_when_sent_once_and_not_refused_as_a_duplicate(
    no_proxy_env: None,
    refusal: tuple[int, dict[str, Any]],
    resent: bool,
    raised: type[Exception],
    sent: list[str],
) -> None:
    from tradepipe.adapters.alpaca import AlpacaBroker
    from tradepipe.domain.model import Mode

    with _drops_second_request(
        later={
            ("POST", "/v2/orders"): refusal,
            ("GET", "/v2/orders:by_client_order_id"): (404, {"code": 40410000, "message": "order not found"}),
        }
    ) as (base, received):
        broker = AlpacaBroker(Mode.PAPER, "PKTEST", "not-a-real-secret", url_override=base)
        if resent:
            broker._client.get_clock()  # the order is the connection's second request: dropped, sent again

        with pytest.raises(raised):
            broker.submit(open_intent("c-1", "AAPL", stop_loss=Decimal("190")))
        assert received == sent


def test_an_answer_is_marked_maybe_sent_twice_only_after_a_kept_connection_died(no_proxy_env: None) -> None:
    from tradepipe.adapters.curl_http import _LINES, maybe_sent_twice

    with _drops_second_request() as (base, received):
        session = TimeoutSession(5)
        first = _as_alpaca_py(session, "POST", base + "/v2/orders", {"client_order_id": "tp-a"})
        lines_kept = len(_LINES)
        again = _as_alpaca_py(session, "POST", base + "/v2/orders", {"client_order_id": "tp-bb"})
        third = _as_alpaca_py(session, "POST", base + "/v2/orders", {"client_order_id": "tp-ccc"})

    assert received == ["POST", "POST", "POST", "POST"]  # the second sent twice, on a fresh connection
    assert [maybe_sent_twice(a) for a in (first, again, third)] == [False, True, False]
    assert len(_LINES) == lines_kept  # an order's lines (its body's length among them) are not kept
