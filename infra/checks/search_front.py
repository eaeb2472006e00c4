"""A recording front for the local OpenSearch server (osmem): what a search client asked for, and who asked.

    with SearchFront(osmem_url, tls=True) as front:      # https://127.0.0.1:<port>, its own certificate
        ... point a client at front.url (trust front.ca_file) ...
        front.requests                                     # every request, in order, with its caller

It forwards every request to osmem, except the security plugin's REST API (`/_plugins/_security/api/...`),
which osmem does not have: the front keeps roles and role mappings itself, as the security index would,
so the deploy-time setup can run locally and a test can read the role it wrote. The caller is the basic-auth
user name or the SigV4 access key id, so tests can tell the setup's requests from the indexer's. A SigV4
signature is checked as the domain checks it (infra/checks/sigv4_check.py, against the keys `keys` knows
and the front's `region`): one that fails is answered 403 and never reaches osmem.

TLS: the setup's and the indexer's clients insist on https (as on AWS). The front makes a self-signed
certificate for 127.0.0.1; a client trusts it through SSL_CERT_FILE (opensearch-py's urllib3 connection)
or REQUESTS_CA_BUNDLE (requests), the standard variables, so no client code changes.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import ipaddress
import json
import re
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra.checks.sigv4_check import SigningKey, is_sigv4, refusal

_SECURITY_API = re.compile(r"^/_plugins/_security/api/(?P<kind>roles|rolesmapping)(?:/(?P<name>[^/]+))?$")
_SIGV4_KEY = re.compile(r"Credential=([^/]+)/")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    caller: str
    status: int

    def json_lines(self) -> list[Any]:
        """The body as JSON documents (one, or one per line for _bulk)."""
        text = self.body.decode("utf-8", "replace").strip()
        if not text:
            return []
        if self.path.endswith("/_bulk"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return [json.loads(text)]


@dataclass
class SecurityIndex:
    """The security plugin's roles and mappings, as written through its REST API."""

    roles: dict[str, Any] = field(default_factory=dict)
    rolesmapping: dict[str, Any] = field(default_factory=dict)


def _caller(headers: Any) -> str:
    auth = headers.get("Authorization", "")
    if auth.startswith("Basic "):
        return "basic:" + base64.b64decode(auth[6:]).decode("utf-8", "replace").split(":", 1)[0]
    found = _SIGV4_KEY.search(auth)
    return f"sigv4:{found.group(1)}" if found else "anonymous"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        security = _SECURITY_API.match(parts.path)
        refused = self._signature_refused(body)
        if refused is not None:
            status, payload, content_type = 403, json.dumps({"message": refused}).encode(), "application/json"
        elif security:
            status, payload, content_type = self._security(security, body)
        else:
            status, payload, content_type = self._forward(body)
        self.server.front.record(
            Recorded(
                self.command, parts.path, dict(parse_qsl(parts.query)), body, _caller(self.headers), status
            )
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _signature_refused(self, body: bytes) -> str | None:
        """Why the domain would refuse this request's SigV4 signature (None: valid, or not SigV4)."""
        if not is_sigv4(self.headers.get("Authorization", "")):
            return None
        host = self.headers.get("Host", "")
        front = self.server.front
        return refusal(self.command, self.path, host, self.headers, body, front.keys, front.region)

    def _security(self, match: re.Match[str], body: bytes) -> tuple[int, bytes, str]:
        store = getattr(self.server.front.security, match.group("kind"))
        name = match.group("name")
        if self.command == "PUT" and name:
            created = name not in store
            store[name] = json.loads(body or b"{}")
            answer = {"status": "CREATED" if created else "OK", "message": f"'{name}' updated."}
            return (201 if created else 200), json.dumps(answer).encode(), "application/json"
        if self.command == "GET":
            found = store if name is None else ({name: store[name]} if name in store else None)
            if found is None:
                return 404, b'{"status":"NOT_FOUND"}', "application/json"
            return 200, json.dumps(found).encode(), "application/json"
        return 405, b'{"status":"METHOD_NOT_ALLOWED"}', "application/json"

    def _forward(self, body: bytes) -> tuple[int, bytes, str]:
        upstream = http.client.HTTPConnection(self.server.front.upstream_host, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            return (
                response.status,
                response.read(),
                response.getheader("Content-Type", "application/json"),
            )
        finally:
            upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815 - http.server's names


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, front: SearchFront) -> None:
        self.front = front
        super().__init__(("127.0.0.1", 0), _Handler)


class SearchFront:
    def __init__(
        self,
        upstream_url: str,
        tls: bool = False,
        keys: Callable[[str], SigningKey | None] = lambda _: None,
        region: str = "us-east-1",
    ) -> None:
        """`keys`: what the domain knows of each access key id whose SigV4 signatures it checks (its secret,
        its session token; infra/checks/sigv4_check.py); a request signed by any other key, or for another
        region than `region`, is refused, as by the domain."""
        self.upstream_host = urlsplit(upstream_url).netloc
        self.keys, self.region = keys, region
        self.security = SecurityIndex()
        self._records: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._dir = tempfile.TemporaryDirectory(prefix="search-front-")
        self.ca_file: Path | None = None
        if tls:
            cert, key = _self_signed(Path(self._dir.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.ca_file = cert
        port = self._server.server_address[1]
        self.host = f"127.0.0.1:{port}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="search-front", daemon=True)

    def record(self, request: Recorded) -> None:
        with self._lock:
            self._records.append(request)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def start(self) -> SearchFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()

    def __enter__(self) -> SearchFront:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA (so a client can trust exactly it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tradepipe local search")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file
