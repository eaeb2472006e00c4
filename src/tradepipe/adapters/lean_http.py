"""One HTTP exchange over urllib3 (a read or an order over libcurl: adapters/curl_http.py), answered as a
`requests.Response`, failing with requests' exceptions.

`TimeoutSession` (adapters/http.py) sends alpaca-py's requests here. alpaca-py and our adapters read the
answer as requests' (`raise_for_status`, `status_code`, `headers`, `text`, `json()`) and tell failures apart
by requests' exception types, so both are kept: a refused or failed connection is `requests.ConnectionError`
(the request never reached the broker, or its fate is unknown: the executor looks an order up by its client
order id before sending it again either way), a timeout waiting for the answer `requests.ReadTimeout`, as
`requests.adapters.HTTPAdapter.send` maps them (the same urllib3 pool settings, retries and timeouts).

What requests would do and this does not: cookies (Alpaca's API authenticates by headers), redirects
(alpaca-py asks for none), hooks, proxies and netrc (the session sends those requests through requests)."""

from __future__ import annotations

import datetime
import json as complexjson  # what requests dumps bodies with (simplejson only when installed)
import os.path
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit

import requests
import urllib3
from requests.models import RequestEncodingMixin
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers, requote_uri
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.exceptions import InvalidHeader as Urllib3InvalidHeader
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.ssl_ import create_urllib3_context

from tradepipe.adapters.curl_http import CurlHttp

# requests.adapters' defaults: 10 pools of 10 connections, no blocking, no retry (a read is never retried).
_POOLS = 10
_RETRIES = urllib3.Retry(0, read=False)
# requests' body methods: a request without a body still says so unless it is a GET or a HEAD.
_NO_BODY_LENGTH = frozenset({"GET", "HEAD"})


class LeanTransport:
    def __init__(self) -> None:
        # One pool manager per CA bundle (requests' default, certifi's; or REQUESTS_CA_BUNDLE's), each with
        # its context loaded once; None: plain HTTP (the local paper broker), which verifies nothing and,
        # as in requests, loads no bundle (~20 ms a session).
        self._managers: dict[str | bool | None, urllib3.PoolManager] = {}
        self._pools: dict[tuple[str | bool, str, str], urllib3.HTTPConnectionPool] = {}
        self._timeouts: dict[float | None, urllib3.Timeout] = {}
        self._curl = CurlHttp()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Any,
        json: Any,
        headers: dict[str, str],
        timeout: float | None,
        verify: str | bool,
    ) -> requests.Response:
        method = method.upper()
        url = _with_query(url, params)
        body: bytes | None = None
        if json is not None:
            body = complexjson.dumps(json, allow_nan=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
            headers["Content-Length"] = str(len(body))
        elif method not in _NO_BODY_LENGTH:
            headers["Content-Length"] = "0"
        prepared = _prepared(method, url, headers, body)
        parts = urlsplit(url)
        # Reads, and orders the broker keeps unique by their client order id, over libcurl; why not the rest
        # (a cancel, a replace, a POST without that id): adapters/curl_http.py.
        tls = verify if parts.scheme == "https" else None
        if method == "GET":
            return self._curl.get(url, headers, timeout, tls, prepared)
        if method == "POST" and body is not None and isinstance(json, dict) and json.get("client_order_id"):
            return self._curl.post_order(url, headers, body, timeout, tls, prepared)
        target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
        started = time.perf_counter()
        with _as_requests_errors(prepared):
            answer = self._pool(verify, parts).urlopen(
                method,
                target,
                body=body,
                headers=headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=_RETRIES,
                timeout=self._timeout(timeout),
            )
        with _as_requests_read_errors():
            content = answer.read(decode_content=True)
        return _response(answer, content, url, prepared, time.perf_counter() - started)

    def _pool(self, verify: str | bool, parts: SplitResult) -> urllib3.HTTPConnectionPool:
        """The host's connection pool, kept between requests (urllib3 parses the URL again to find it)."""
        key = (verify, parts.scheme, parts.netloc)
        pool = self._pools.get(key)
        if pool is None or pool.pool is None:  # none yet, or closed (a pool manager closes what it evicts)
            manager = self._manager(verify if parts.scheme == "https" else None)
            pool = self._pools[key] = manager.connection_from_url(f"{parts.scheme}://{parts.netloc}")
        return pool

    def _timeout(self, seconds: float | None) -> urllib3.Timeout:
        found = self._timeouts.get(seconds)
        if found is None:
            # requests' float timeout: the same bound on connecting and on each wait for the answer.
            found = self._timeouts[seconds] = urllib3.Timeout(connect=seconds, read=seconds)
        return found

    def _manager(self, verify: str | bool | None) -> urllib3.PoolManager:
        manager = self._managers.get(verify)
        if manager is None:
            manager = self._managers[verify] = urllib3.PoolManager(
                num_pools=_POOLS, maxsize=_POOLS, block=False, **_tls(verify)
            )
        return manager


def _tls(verify: str | bool | None) -> dict[str, Any]:
    """A pool manager's TLS settings: none for plain HTTP; else a context with the CA bundle loaded."""
    if verify is None:
        return {}
    context = create_urllib3_context()
    bundle = DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)
    # As requests.adapters.HTTPAdapter.cert_verify reads it: a directory of certificates, or a file.
    if os.path.isdir(bundle):
        context.load_verify_locations(capath=bundle)
    else:
        context.load_verify_locations(cafile=bundle)
    return {"ssl_context": context, "cert_reqs": "CERT_REQUIRED"}


@contextmanager
def _as_requests_errors(prepared: requests.PreparedRequest) -> Iterator[None]:
    """Sending and the answer's head: urllib3's failures as requests.adapters.HTTPAdapter.send maps them,
    clause for clause (a refused connection is a ConnectionError, a late answer a ReadTimeout)."""
    try:
        yield
    except (ProtocolError, OSError) as err:
        raise requests.ConnectionError(err, request=prepared) from err
    except MaxRetryError as err:
        raise _gave_up(err, prepared) from err
    except ClosedPoolError as err:
        raise requests.ConnectionError(err, request=prepared) from err
    except Urllib3ProxyError as err:
        raise requests.exceptions.ProxyError(err) from err
    except Urllib3SSLError as err:
        raise requests.exceptions.SSLError(err, request=prepared) from err
    except ReadTimeoutError as err:
        raise requests.ReadTimeout(err, request=prepared) from err
    except Urllib3InvalidHeader as err:
        raise requests.exceptions.InvalidHeader(err, request=prepared) from err


def _gave_up(err: MaxRetryError, prepared: requests.PreparedRequest) -> requests.RequestException:
    reason = err.reason
    if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
        return requests.ConnectTimeout(err, request=prepared)
    if isinstance(reason, ResponseError):
        return requests.exceptions.RetryError(err, request=prepared)
    if isinstance(reason, Urllib3ProxyError):
        return requests.exceptions.ProxyError(err, request=prepared)
    if isinstance(reason, Urllib3SSLError):
        return requests.exceptions.SSLError(err, request=prepared)
    return requests.ConnectionError(err, request=prepared)


@contextmanager
def _as_requests_read_errors() -> Iterator[None]:
    """Reading the body: as requests.Response.iter_content maps its failures."""
    try:
        yield
    except ProtocolError as err:
        raise requests.exceptions.ChunkedEncodingError(err) from err
    except DecodeError as err:
        raise requests.exceptions.ContentDecodingError(err) from err
    except ReadTimeoutError as err:
        raise requests.ConnectionError(err) from err
    except Urllib3SSLError as err:
        raise requests.exceptions.SSLError(err) from err


# URLs with their query already built, by the URL and its parameters: alpaca-py asks for the same few (the
# quote and the positions of a ticker, the account) again and again. A bound, as the tickers vary.
_QUERIES: dict[tuple[str, tuple[tuple[Any, Any], ...]], str] = {}
_QUERY_SETS = 1024


def _with_query(url: str, params: Any) -> str:
    """The URL with its query parameters, requoted as requests.PreparedRequest.prepare_url leaves it."""
    key = None
    if params is None or isinstance(params, dict):
        key = (url, tuple(params.items()) if params else ())
        try:
            found = _QUERIES.get(key)
        except TypeError:  # a list value: built every time
            key, found = None, None
        if found is not None:
            return found
    encoded = _encode_params(params) if params else ""
    if encoded:
        url = f"{url}{'&' if '?' in url else '?'}{encoded}"
    built = requote_uri(url)
    if key is not None and len(_QUERIES) < _QUERY_SETS:
        _QUERIES[key] = built
    return built


def _encode_params(params: Any) -> str:
    """Query parameters as requests encodes them (`RequestEncodingMixin._encode_params`): a list value is a
    repeated key, a None value is left out. A dict, as alpaca-py passes, without requests' protocol checks
    (~40 us a call); anything else through requests."""
    if not isinstance(params, dict):
        encoded = RequestEncodingMixin._encode_params(params)
        return encoded.decode("ascii") if isinstance(encoded, bytes) else str(encoded)
    pairs: list[tuple[bytes, Any]] = []
    for key, values in params.items():
        if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
            values = [values]
        name = key.encode("utf-8") if isinstance(key, str) else key
        pairs.extend((name, v.encode("utf-8") if isinstance(v, str) else v) for v in values if v is not None)
    return urlencode(pairs, doseq=True)


def _prepared(method: str, url: str, headers: dict[str, str], body: bytes | None) -> requests.PreparedRequest:
    """The request as requests would hand it to an error or a response (`exc.request`, `response.request`),
    without preparing it again."""
    prepared = requests.PreparedRequest()
    prepared.method = method
    prepared.url = url
    prepared.headers = CaseInsensitiveDict(headers)
    prepared.body = body
    return prepared


def _response(
    answer: urllib3.BaseHTTPResponse,
    content: bytes,
    url: str,
    prepared: requests.PreparedRequest,
    elapsed_s: float,
) -> requests.Response:
    response = requests.Response()
    response.status_code = answer.status
    response.headers = CaseInsensitiveDict(answer.headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response.reason = answer.reason or ""
    response.raw = answer
    response.url = url
    response.request = prepared
    response.elapsed = datetime.timedelta(seconds=elapsed_s)
    response._content = content
    response._content_consumed = True
    return response
