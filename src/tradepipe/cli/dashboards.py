"""`tradepipe dashboards import|migrate`: index templates, versioned indices and aliases on OpenSearch,
then the saved objects (dashboard/*.ndjson) into OpenSearch Dashboards.

    tradepipe dashboards import --url http://127.0.0.1:9200                     # the local stack (osmem)
    tradepipe dashboards import --url https://DOMAIN/_dashboards --sigv4 --region us-east-1   # AWS

On AWS this is the deploy step (run after `cdk deploy`); the indexer also applies the templates and
aliases on its first batch, so documents never wait for it. The saved-objects import overwrites objects
with the same ids (`overwrite=true`), so running it again is harmless.

Exit codes: 0 everything done; 2 OpenSearch is set up but the saved objects were not imported (no
Dashboards server at --url, or some objects failed); 1 OpenSearch could not be set up.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradepipe.cli.output import say as _say

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "dashboard"
_DASHBOARDS_SUFFIX = "/_dashboards"  # where Amazon OpenSearch Service serves Dashboards on the domain


def search_url_for(url: str, search_url: str | None) -> str:
    """OpenSearch's own endpoint: given, or the Dashboards URL without AWS's `/_dashboards` suffix (the
    local server answers both on one address)."""
    if search_url:
        return search_url.rstrip("/")
    return url.rstrip("/").removesuffix(_DASHBOARDS_SUFFIX)


@dataclass(frozen=True)
class ImportOutcome:
    imported: bool
    detail: str
    reached: bool = True  # False: no Dashboards server answered at all


def _auth(sigv4: bool, region: str) -> Any:
    from tradepipe.adapters.opensearch import sigv4_auth

    return sigv4_auth(region) if sigv4 else None


def import_saved_objects(url: str, path: Path, auth: Any = None, timeout: float = 30) -> ImportOutcome:
    """POST one ndjson file to `<url>/api/saved_objects/_import?overwrite=true` (multipart, as the
    Dashboards UI does; `osd-xsrf` is the header Dashboards requires on API writes)."""
    import requests

    endpoint = f"{url.rstrip('/')}/api/saved_objects/_import"
    # Prepared without the session's default headers, so a SigV4 signature covers only what this request
    # says (opensearch-py's signer signs every header present): a proxy rewriting Accept-Encoding, or a load
    # balancer dropping Connection, cannot break it. The environment's proxies and CA bundle still apply.
    request = requests.Request(
        "POST",
        endpoint,
        params={"overwrite": "true"},
        headers={"osd-xsrf": "true"},
        files={"file": (path.name, path.read_bytes(), "application/ndjson")},
        auth=auth,
    )
    try:
        with requests.Session() as session:
            prepared = request.prepare()
            settings = session.merge_environment_settings(endpoint, {}, None, None, None)
            response = session.send(prepared, timeout=timeout, **settings)
    except requests.RequestException as exc:
        return ImportOutcome(False, f"could not reach {endpoint}: {type(exc).__name__}", reached=False)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "success" not in body:
        said = response.text.strip().replace("\n", " ")[:200]
        return ImportOutcome(
            False,
            f"{url} is not an OpenSearch Dashboards server: POST /api/saved_objects/_import answered "
            f"{response.status_code} {said!r}",
            reached=False,
        )
    if body.get("success"):
        return ImportOutcome(True, f"{body.get('successCount', 0)} saved objects imported (overwrite)")
    errors = [f"{e.get('type')}/{e.get('id')}: {json.dumps(e.get('error'))}" for e in body.get("errors", [])]
    return ImportOutcome(False, f"{len(errors)} objects failed: " + "; ".join(errors[:5]))


def _search(args: argparse.Namespace) -> Any:
    from tradepipe.adapters.opensearch import OpenSearchIndex, build_client

    endpoint = search_url_for(args.url, args.search_url)
    return endpoint, OpenSearchIndex(build_client(endpoint, "sigv4" if args.sigv4 else "none", args.region))


def cmd_import(args: argparse.Namespace) -> int:
    from tradepipe.adapters.search_templates import component_templates, index_templates
    from tradepipe.resources import INDEXES

    endpoint, search = _search(args)
    _say(f"OpenSearch {endpoint}")
    try:
        states = search.ensure_templates()
    except Exception as exc:  # the operator needs the reason in one line, not a traceback
        _say(f"  FAILED to set up templates and aliases: {type(exc).__name__}: {exc}")
        return 1
    _say(f"  component templates: {', '.join(component_templates())}")
    _say(f"  index templates:     {', '.join(index_templates())}")
    for spec, state in zip(INDEXES, states, strict=True):
        _say(f"  {spec.alias:<17} -> {state.write_index or '-':<20} {state.action}: {state.detail}")
    search_ok = all(state.ok for state in states)

    files = sorted(Path(args.dir).glob("*.ndjson"))
    if not files:
        _say(f"Dashboards: no saved objects (*.ndjson) in {args.dir}")
        return 2
    _say(f"Dashboards {args.url}")
    auth = _auth(args.sigv4, args.region)
    all_imported = True
    for n, path in enumerate(files):
        outcome = import_saved_objects(args.url, path, auth)
        all_imported &= outcome.imported
        _say(f"  {path.name}: {'imported' if outcome.imported else 'NOT imported'}: {outcome.detail}")
        if not outcome.imported and not outcome.reached:
            rest = [p.name for p in files[n + 1 :]]
            if rest:
                _say(f"  {', '.join(rest)}: NOT imported: same server")
            break
    if not all_imported:
        _say(
            "  The index templates and aliases above are in place; the saved objects need an OpenSearch "
            "Dashboards server (on AWS: https://<domain>/_dashboards). Import them later with --url, or "
            "by hand: Dashboards > Dashboards Management > Saved objects > Import."
        )
    if not search_ok:
        return 1
    return 0 if all_imported else 2


def cmd_migrate(args: argparse.Namespace) -> int:
    endpoint, search = _search(args)
    _say(f"OpenSearch {endpoint}")
    done = search.migrate()
    for line in done or ["every alias already points at its current version only: nothing to migrate"]:
        _say(f"  {line}")
    return 0


def register(sub: Any) -> None:
    """Adds `dashboards import` and `dashboards migrate` to the `tradepipe` command."""
    dashboards = sub.add_parser("dashboards", help="OpenSearch index templates + Dashboards saved objects")
    verbs = dashboards.add_subparsers(dest="dashboards_command", required=True)
    for name, text, func in (
        ("import", "apply index templates and aliases, then import the saved objects", cmd_import),
        ("migrate", "reindex older index versions into the current one behind each alias", cmd_migrate),
    ):
        cmd = verbs.add_parser(name, help=text)
        cmd.add_argument(
            "--url",
            required=True,
            help="OpenSearch Dashboards URL (AWS: https://DOMAIN/_dashboards; locally the OpenSearch URL)",
        )
        cmd.add_argument(
            "--search-url", default=None, help="OpenSearch URL (default: --url without /_dashboards)"
        )
        cmd.add_argument("--sigv4", action="store_true", help="sign requests with AWS credentials (SigV4)")
        cmd.add_argument("--region", default="us-east-1", help="AWS region for SigV4 (default us-east-1)")
        if name == "import":
            cmd.add_argument("--dir", default=str(DEFAULT_DIR), help="folder of *.ndjson saved objects")
        cmd.set_defaults(func=func)
