"""alpaca-py's reads (GET) and orders (POST with a client order id) over libcurl (pycurl), answered as a
`requests.Response`, failing with requests' exceptions as `lean_http` does for urllib3.

Why: each broker exchange cost ~0.6 ms of the caller's CPU over urllib3 and `http.client` (header parsing
through `email.parser` alone ~13%), four an alert (the quote, the positions, the order, the read after the
fill wait); libcurl does the exchange in C and hands back the head and the body (a third of the CPU in a
bare loop: docs/performance-log.md).

What may go over libcurl: libcurl sends a request once more, on a fresh connection, when a kept-alive
connection it reused died before any byte of the answer (`Curl_retry_request`), and no option turns that off.
For a read that is harmless. For an order it is harmless too, because every order we place carries a
client order id and Alpaca keeps those unique ("client_order_id ... must be unique", Orders API): the copy
can never become a second order. It is refused, as a duplicate or for what the first copy now holds (its
shares, its buying power: Alpaca does not say which check comes first). An answer whose request may have
been sent twice is marked (`maybe_sent_twice`: a kept connection died and a new one was opened), and
`AlpacaBroker._place` looks the order up by its id before it takes such a refusal, or a duplicate's, as
final: the first copy is found and answered, or, not visible yet, the placement is retried. (The copy
is a request the account's request budget did not count: rare, and Alpaca's 429 is handled anyway.)
A cancel or a replace has no such key (a second copy of a replace the broker took is refused as a replace
of an order already replaced, an answer the caller would misread), and a POST without a client order id
would be placed twice: both stay on urllib3, which sends once and raises, so the caller learns the outcome
is unknown.

What requests does and this keeps: the same request line and headers (the session's merged headers,
nothing of libcurl's own but Host), the body sent as given, the answer's body decoded as urllib3 decodes it
(its own decoders, only when the answer says Content-Encoding), repeated headers joined with ", ", the
reason phrase, the encoding from Content-Type. The timeout: requests bounds the connect and each wait for
the answer by the same seconds; here the connect and the whole exchange are each bounded by them (an answer
that trickles in longer is cut).
"""

from __future__ import annotations

import datetime
import io
import os.path
import threading
import time
from typing import Any

import pycurl
import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, check_header_validity, get_encoding_from_headers
from urllib3.exceptions import DecodeError

# libcurl's failures, as requests names the same failure through urllib3 (lean_http's mapping).
_TIMED_OUT = pycurl.E_OPERATION_TIMEDOUT
_TLS = frozenset(
    {
        pycurl.E_SSL_CONNECT_ERROR,
        pycurl.E_PEER_FAILED_VERIFICATION,
        pycurl.E_SSL_CERTPROBLEM,
        pycurl.E_SSL_CIPHER,
        pycurl.E_SSL_CACERT_BADFILE,
        pycurl.E_SSL_ENGINE_NOTFOUND,
        pycurl.E_SSL_ENGINE_SETFAILED,
        pycurl.E_SSL_CRL_BADFILE,
        pycurl.E_SSL_ISSUER_ERROR,
        pycurl.E_SSL_SHUTDOWN_FAILED,
    }
)
# The answer's head arrived, its body did not arrive whole: as requests' ChunkedEncodingError.
_BODY_CUT = frozenset({pycurl.E_PARTIAL_FILE, pycurl.E_RECV_ERROR})


class CurlHttp:
    """One libcurl handle per thread and CA bundle (a handle keeps its connections alive between exchanges; a
    handle is never used by two threads at once, as libcurl requires)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(
        self,
        url: str,
        headers: dict[str, str],
        timeout: float | None,
        verify: str | bool | None,
        prepared: requests.PreparedRequest,
    ) -> requests.Response:
        handle, reused = self._handle(verify)
        handle.setopt(pycurl.HTTPGET, 1)  # the handle may have sent an order last
        return _perform(handle, reused, url, _header_lines(headers), timeout, prepared)

    def post_order(
        self,
        url: str,
        headers: dict[str, str],
        body: bytes,
        timeout: float | None,
        verify: str | bool | None,
        prepared: requests.PreparedRequest,
    ) -> requests.Response:
        """An order whose body carries its client order id (the only POST that may be sent twice: above)."""
        handle, reused = self._handle(verify)
        handle.setopt(pycurl.POSTFIELDS, body)  # copied by libcurl; sets POST and the body's length
        # "Expect:" with nothing: libcurl would ask for a 100-continue before a large body; requests never
        # does. Not kept: each body's Content-Length would take a slot of `_LINES`.
        lines = [*_checked_lines(headers), b"Expect:"]
        return _perform(handle, reused, url, lines, timeout, prepared)

    def _handle(self, verify: str | bool | None) -> tuple[Any, bool]:
        """This thread's handle for `verify`, and whether it was used before (it may hold a kept
        connection)."""
        handles: dict[str | bool | None, Any] | None = getattr(self._local, "handles", None)
        if handles is None:
            handles = self._local.handles = {}
        handle = handles.get(verify)
        if handle is None:
            handles[verify] = _new_handle(verify)
            return handles[verify], False
        return handle, True


# Set on an answer whose request libcurl may have sent twice: see `maybe_sent_twice`.
_MAYBE_TWICE = "_tradepipe_maybe_sent_twice"


def maybe_sent_twice(response: object) -> bool:
    """Whether libcurl may have sent this answer's request twice: the handle held a kept connection and the
    exchange opened a new one (a reused connection found dead, before or after the request went out: from
    outside the two cannot be told apart, so either counts). Never for urllib3, which sends once."""
    return bool(getattr(response, _MAYBE_TWICE, False))


def _perform(
    handle: Any,
    reused: bool,
    url: str,
    lines: list[bytes],
    timeout: float | None,
    prepared: requests.PreparedRequest,
) -> requests.Response:
    body, head = io.BytesIO(), _Head()
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.HTTPHEADER, lines)
    handle.setopt(pycurl.WRITEDATA, body)
    handle.setopt(pycurl.HEADERFUNCTION, head.line)
    ms = 0 if timeout is None else max(1, int(timeout * 1000))
    handle.setopt(pycurl.CONNECTTIMEOUT_MS, ms)
    handle.setopt(pycurl.TIMEOUT_MS, ms)
    started = time.perf_counter()
    try:
        handle.perform()
    except pycurl.error as err:
        raise _as_requests_error(err, handle, head, prepared) from err
    response = _response(handle, head, body.getvalue(), url, prepared, time.perf_counter() - started)
    if reused and handle.getinfo(pycurl.NUM_CONNECTS) > 0:
        setattr(response, _MAYBE_TWICE, True)
    return response


def _new_handle(verify: str | bool | None) -> Any:
    handle = pycurl.Curl()
    handle.setopt(pycurl.NOSIGNAL, 1)  # threads: no SIGALRM for name lookups' timeouts
    handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)  # as urllib3 speaks it
    handle.setopt(pycurl.PROXY, "")  # the session sends proxied hosts through requests (adapters/http.py)
    handle.setopt(pycurl.FOLLOWLOCATION, 0)  # alpaca-py asks for no redirects
    if verify is not None:  # HTTPS: requests' bundle (certifi's) or the one the environment names
        bundle = DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)
        directory = os.path.isdir(bundle)
        handle.setopt(pycurl.CAPATH if directory else pycurl.CAINFO, bundle)
        # That bundle alone: libcurl would also trust its built-in default for the other (the system's
        # /etc/ssl/certs or /etc/pki/tls/certs/ca-bundle.crt), which requests never reads.
        handle.unsetopt(pycurl.CAINFO if directory else pycurl.CAPATH)
        handle.setopt(pycurl.SSL_VERIFYPEER, 1)
        handle.setopt(pycurl.SSL_VERIFYHOST, 2)
    return handle


# Header sets already checked and encoded: alpaca-py sends the same few every time (a bound, should a caller
# vary them; an order's Content-Length does).
_LINES: dict[tuple[tuple[str, str], ...], list[bytes]] = {}
_LINE_SETS = 64


def _header_lines(headers: dict[str, str]) -> list[bytes]:
    """The request's headers as requests sends them: each checked as requests checks it (no CR or LF that
    would start another header: `InvalidHeader`), encoded latin-1 as http.client encodes them, and none
    of libcurl's own (its `Accept: */*` is kept out unless the caller sends an Accept). The same headers
    give the same lines: kept (the caller never changes them: libcurl copies what it is given)."""
    key = tuple(headers.items())
    found = _LINES.get(key)
    if found is None:
        found = _checked_lines(headers)
        if len(_LINES) < _LINE_SETS:
            _LINES[key] = found
    return found


def _checked_lines(headers: dict[str, str]) -> list[bytes]:
    lines: list[bytes] = []
    for header in headers.items():
        check_header_validity(header)
        name, value = header
        # "Name;" is libcurl's way to send a header with no value ("Name:" would leave it out).
        lines.append((f"{name}: {value}" if value else f"{name};").encode("latin-1"))
    if not any(name.lower() == "accept" for name in headers):
        lines.append(b"Accept:")  # "Name:" with nothing: libcurl leaves its own out
    return lines


class _Head:
    """The answer's status line and headers as libcurl hands them over, line by line (an interim 1xx head
    is replaced by the final one)."""

    def __init__(self) -> None:
        self.status_line = ""
        self.headers: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._ended = False  # the final head's blank line seen: what follows is a chunked body's trailer

    def line(self, raw: bytes) -> None:
        text = raw.decode("iso-8859-1").rstrip("\r\n")
        if text.startswith("HTTP/"):
            self.status_line, self.headers, self._names, self._ended = text, {}, {}, False
            return
        if self._ended:
            return  # trailer fields: urllib3 leaves them out of the headers
        name, sep, value = text.partition(":")
        if not sep:
            # The blank line ending a head; an interim 1xx head is followed by another.
            self._ended = bool(self.status_line) and not self.status.startswith("1")
            return
        name, value = name.strip(), value.lstrip(" \t")
        known = self._names.get(name.lower())
        if known is None:
            self._names[name.lower()] = name
            self.headers[name] = value
        else:  # a repeated header, joined as urllib3's HTTPHeaderDict reads it
            self.headers[known] = f"{self.headers[known]}, {value}"

    @property
    def status(self) -> str:
        parts = self.status_line.split(" ", 2)
        return parts[1] if len(parts) > 1 else ""

    @property
    def reason(self) -> str:
        parts = self.status_line.split(" ", 2)
        return parts[2] if len(parts) == 3 else ""


def _content(head: _Head, raw: bytes) -> bytes:
    """The body as urllib3 hands it to requests: decoded when the answer says Content-Encoding."""
    if not any(name.lower() == "content-encoding" for name in head.headers):
        return raw
    answer = urllib3.HTTPResponse(
        body=io.BytesIO(raw), headers=head.headers, preload_content=False, decode_content=True
    )
    try:
        return answer.read()
    except DecodeError as err:
        raise requests.exceptions.ContentDecodingError(err) from err


def _response(
    handle: Any, head: _Head, raw: bytes, url: str, prepared: requests.PreparedRequest, elapsed_s: float
) -> requests.Response:
    response = requests.Response()
    response.status_code = handle.getinfo(pycurl.RESPONSE_CODE)
    response.headers = CaseInsensitiveDict(head.headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response.reason = head.reason
    response.url = url
    response.request = prepared
    response.elapsed = datetime.timedelta(seconds=elapsed_s)
    response._content = _content(head, raw)
    response._content_consumed = True
    return response


def _as_requests_error(
    err: pycurl.error, handle: Any, head: _Head, prepared: requests.PreparedRequest
) -> requests.RequestException:
    code = err.args[0]
    if code == _TIMED_OUT:
        if handle.getinfo(pycurl.REQUEST_SIZE) > 0:  # sent: waiting for (or reading) the answer
            return requests.ReadTimeout(err, request=prepared)
        return requests.ConnectTimeout(err, request=prepared)
    if code in _TLS:
        return requests.exceptions.SSLError(err, request=prepared)
    if code in _BODY_CUT and head.status_line:
        return requests.exceptions.ChunkedEncodingError(err, request=prepared)
    if code == pycurl.E_BAD_CONTENT_ENCODING:
        return requests.exceptions.ContentDecodingError(err, request=prepared)
    return requests.ConnectionError(err, request=prepared)
