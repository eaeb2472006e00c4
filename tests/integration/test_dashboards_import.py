"""`tradepipe dashboards import|migrate` against osmem (real opensearch-py), and the saved-objects upload
against a stand-in Dashboards endpoint that checks what the real one requires."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from opensearchpy import OpenSearch
from osmem_server import OsmemServer

from infra.checks.sigv4_check import SigningKey, is_sigv4, refusal
from tradepipe.adapters.opensearch import OpenSearchIndex, sigv4_auth
from tradepipe.adapters.search_templates import merged_mapping
from tradepipe.cli import main
from tradepipe.cli.dashboards import import_saved_objects
from tradepipe.resources import INDEXES

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboard"


@pytest.fixture(scope="module")
def _empty_base() -> Iterator[OsmemServer]:
    # Not the session's osmem_server: other tests index into its base, and clones start from the base.
    with OsmemServer.start(freeze=False, japanese=False) as server:
        yield server


@pytest.fixture
def osmem_url(_empty_base: OsmemServer) -> Iterator[str]:
    """An OpenSearch-compatible server with nothing in it, one per test."""
    with _empty_base.clone() as clone:
        yield clone.url


def test_import_against_osmem_sets_up_search_and_says_why_saved_objects_were_not_imported(
    osmem_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = main(["dashboards", "import", "--url", osmem_url])
    out_first = capsys.readouterr().out
    again = main(["dashboards", "import", "--url", osmem_url])
    out_again = capsys.readouterr().out

    assert (first, again) == (2, 2)
    assert "created trading-signals-v1 as its write index" in out_first
    assert "write index trading-signals-v1" in out_again  # idempotent: found, not recreated
    for out in (out_first, out_again):
        assert "signals.ndjson: NOT imported" in out
        assert "is not an OpenSearch Dashboards server" in out
        assert "trading.ndjson: NOT imported" in out
    client = OpenSearch(hosts=[osmem_url])
    for spec in INDEXES:
        aliases = client.indices.get_alias(name=spec.alias)
        assert list(aliases) == [spec.concrete]
        assert aliases[spec.concrete]["aliases"][spec.alias]["is_write_index"] is True
        created = client.indices.get_mapping(index=spec.concrete)[spec.concrete]["mappings"]
        expected = merged_mapping(spec)
        assert created["dynamic"] == "strict"
        assert created["properties"] == expected["properties"]


class _Dashboards(BaseHTTPRequestHandler):
    """Answers like OpenSearch Dashboards' import API, refusing what the real one refuses; on AWS, a SigV4
    signature checked as the domain checks it (infra/checks/sigv4_check.py) against `keys`."""

    received: list[dict[str, Any]] = []
    keys: dict[str, SigningKey] = {}

    def do_POST(self) -> None:
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"path": url.path, "query": parse_qs(url.query), "headers": dict(self.headers)})
        if is_sigv4(self.headers.get("Authorization", "")):
            refused = refusal(
                "POST", self.path, self.headers["Host"], self.headers, body, self.keys.get, "us-east-1"
            )
            if refused is not None:
                self._answer(403, {"message": refused})
                return
        if self.headers.get("osd-xsrf") != "true":
            self._answer(
                400,
                {
                    "statusCode": 400,
                    "error": "Bad Request",
                    "message": "Request must contain a osd-xsrf header.",
                },
            )
            return
        if not self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            self._answer(415, {"statusCode": 415, "error": "Unsupported Media Type"})
            return
        ndjson = body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
        objects = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
        self._answer(200, {"success": True, "successCount": len(objects)})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def dashboards_url() -> Iterator[str]:
    _Dashboards.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dashboards)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_import_with_a_dashboards_server_uploads_every_file_with_overwrite(
    osmem_url: str, dashboards_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["dashboards", "import", "--url", dashboards_url, "--search-url", osmem_url])
    out = capsys.readouterr().out

    assert code == 0, out
    files = sorted(DASHBOARD_DIR.glob("*.ndjson"))
    assert len(_Dashboards.received) == len(files)
    for request, path in zip(_Dashboards.received, files, strict=True):
        assert request["path"] == "/api/saved_objects/_import"
        assert request["query"] == {"overwrite": ["true"]}
        count = len(path.read_text().splitlines())
        assert f"{path.name}: imported: {count} saved objects imported (overwrite)" in out


def test_a_signed_import_signs_only_what_the_request_says(
    dashboards_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--sigv4` on AWS: opensearch-py's signer signs every header present, so the request carries none of
    # the session's defaults (Connection, Accept-Encoding, User-Agent) for a proxy or a load balancer to
    # change or drop after signing.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDOPERATOR")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "operator-token")
    monkeypatch.setattr(
        _Dashboards, "keys", {"AKIDOPERATOR": SigningKey("operator-secret", "operator-token")}
    )
    path = sorted(DASHBOARD_DIR.glob("*.ndjson"))[0]

    outcome = import_saved_objects(dashboards_url, path, sigv4_auth("us-east-1"))

    assert outcome.imported, outcome.detail
    authorization = _Dashboards.received[-1]["headers"]["Authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert set(signed) == {
        "content-length",
        "content-type",
        "host",
        "osd-xsrf",
        "x-amz-content-sha256",
        "x-amz-date",
        "x-amz-security-token",
    }
    monkeypatch.setattr(_Dashboards, "keys", {"AKIDOPERATOR": SigningKey("another", "operator-token")})
    assert not import_saved_objects(dashboards_url, path, sigv4_auth("us-east-1")).imported


def test_a_new_mapping_version_rolls_the_alias_over_and_migrate_copies_the_old_documents(
    osmem_url: str,
) -> None:
    client = OpenSearch(hosts=[osmem_url])
    v1 = next(s for s in INDEXES if s.alias == "fills")
    OpenSearchIndex(client, [v1]).ensure_templates()
    client.index(
        index="fills", id="old", body={"ticker": "MSFT"}, params={"require_alias": "true"}, refresh=True
    )
    v2 = dataclasses.replace(v1, version=2)
    search = OpenSearchIndex(client, [v2])

    [state] = search.ensure_templates()
    search.bulk([_action("new", {"ticker": "AAPL"})])

    assert (state.action, state.write_index, state.previous) == ("rolled-over", "fills-v2", ("fills-v1",))
    client.indices.refresh(index="fills")
    assert _ids(client, "fills-v2") == {"new"}  # new documents go to the new version at once
    assert _ids(client, "fills") == {"old", "new"}  # reads through the alias see both meanwhile

    done = search.migrate()

    assert done == ["fills: fills-v1 reindexed into fills-v2 and detached (not deleted)"]
    assert list(client.indices.get_alias(name="fills")) == ["fills-v2"]
    assert _ids(client, "fills") == {"old", "new"}
    assert client.indices.exists(index="fills-v1")


def test_a_legacy_concrete_index_blocks_until_migrate_moves_it_behind_the_alias(osmem_url: str) -> None:
    client = OpenSearch(hosts=[osmem_url])
    client.index(index="risk-events", id="legacy", body={"kind": "state_switch"}, refresh=True)
    spec = next(s for s in INDEXES if s.alias == "risk-events")
    search = OpenSearchIndex(client, [spec])

    [state] = search.ensure_templates()
    failed = search.bulk([_action("x", {"kind": "state_switch"}, index="risk-events")])

    assert state.action == "blocked"
    assert "tradepipe dashboards migrate" in state.detail
    assert failed == ["risk-events/x"]  # never written into the legacy index with its guessed mapping

    search.migrate()
    client.indices.refresh(index="risk-events")

    assert list(client.indices.get_alias(name="risk-events")) == ["risk-events-v1"]
    assert _ids(client, "risk-events") == {"legacy"}
    assert search.bulk([_action("x", {"kind": "state_switch"}, index="risk-events")]) == []


def _action(doc_id: str, doc: dict[str, Any], index: str = "fills") -> Any:
    from tradepipe.ports.search import IndexAction

    return IndexAction(index, doc_id, doc)


def _ids(client: OpenSearch, index: str) -> set[str]:
    hits = client.search(index=index, body={"query": {"match_all": {}}, "size": 100})["hits"]["hits"]
    return {h["_id"] for h in hits}
