"""OpenSearch permissions as deployed: every request the setup's and the indexer's clients make, recorded
by a front in front of osmem (which enforces no roles), mapped to its security-plugin action and checked
against the role each caller has under fine-grained access control:

- the deploy-time setup signs in as the master user (all_access + security_manager on AWS);
- the indexer is mapped, by the setup itself, to the `tradepipe_indexer` role the setup wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from infra.checks.search_actions import ALL_ACCESS, needed, refused
from infra.checks.search_front import Recorded, SearchFront
from tests.integration.conftest import Aws
from tests.integration.test_indexer_all_documents import COID, SID, _stream_event, _write_items
from tests.support.lambda_context import LocalLambdaContext
from tradepipe import composition
from tradepipe.app.search_access import INDEXER_ROLE

INDEXER_ROLE_ARN = "arn:aws:iam::123456789012:role/tradepipe-itest-indexer"
MASTER = "tradepipe-admin"


@pytest.fixture(scope="module")
def front(aws: Aws, search_url: str, paper_broker: Any) -> Iterator[SearchFront]:
    """Setup as at deploy, then the indexer on all five document kinds, both through the front."""
    from functions.executor.handler import lambda_handler as executor
    from functions.indexer.handler import lambda_handler as indexer
    from functions.search_setup.handler import lambda_handler as setup

    secrets: Any = aws.client("secretsmanager")
    master_arn = secrets.create_secret(
        Name="tradepipe-itest-search-master", SecretString=json.dumps({"username": MASTER, "password": "pw"})
    )["ARN"]
    saved = {
        k: os.environ.get(k) for k in ("SSL_CERT_FILE", "AWS_ENDPOINT_URL", "TRADEPIPE_OPENSEARCH_ENDPOINT")
    }
    with SearchFront(search_url, tls=True) as recording:
        assert recording.ca_file is not None
        os.environ["SSL_CERT_FILE"] = str(recording.ca_file)  # trust the front, as for a domain's certificate
        os.environ["AWS_ENDPOINT_URL"] = aws.endpoint  # Powertools' own Secrets Manager client
        event = {
            "RequestType": "Create",
            "ResourceProperties": {
                "Endpoint": recording.url,
                "IndexerRoleArn": INDEXER_ROLE_ARN,
                "MasterUserSecretArn": master_arn,
            },
        }
        assert setup(event, LocalLambdaContext("search-setup", 120))["PhysicalResourceId"]

        os.environ["TRADEPIPE_OPENSEARCH_ENDPOINT"] = recording.url
        composition.reset()
        _write_items(aws)
        executor(
            {"source": "aws.events", "detail-type": "Scheduled Event"}, LocalLambdaContext("executor", 30)
        )
        for table, keep in (
            ("signals", lambda k: k["signal_id"]["S"] == SID),
            ("orders", lambda k: k["client_order_id"]["S"] == COID),
            ("fills", lambda k: k["execution_id"]["S"] == "itest-dash-x1"),
            ("risk-state", lambda k: k["pk"]["S"] in ("STATE#paper", "EQUITY#paper")),
        ):
            answer = indexer(_stream_event(aws, table, keep), LocalLambdaContext("indexer", 60))
            assert answer == {"batchItemFailures": []}, table
        yield recording
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    composition.reset()


def test_setup_maps_the_indexer_role_arn_to_the_role_it_writes(front: SearchFront) -> None:
    assert front.security.rolesmapping[INDEXER_ROLE]["backend_roles"] == [INDEXER_ROLE_ARN]
    assert INDEXER_ROLE in front.security.roles


def test_every_setup_request_is_allowed_to_the_master_user(front: SearchFront) -> None:
    setup_requests = [r for r in front.requests if r.caller == f"basic:{MASTER}"]

    assert {r.path.split("/")[1] for r in setup_requests} >= {
        "_plugins",
        "_index_template",
        "_component_template",
    }
    assert refused(setup_requests, ALL_ACCESS, role_names=["all_access", "security_manager"]) == []


def test_every_indexer_request_is_granted_by_the_role_the_setup_wrote(front: SearchFront) -> None:
    indexer_requests = [r for r in front.requests if r.caller != f"basic:{MASTER}"]
    role = front.security.roles[INDEXER_ROLE]

    assert indexer_requests, "the indexer made no request"
    assert refused(indexer_requests, role) == []


def test_the_indexer_only_writes_documents_through_its_aliases(front: SearchFront) -> None:
    from tradepipe.adapters.search_templates import INDEXES

    aliases = {spec.alias for spec in INDEXES}
    indexer_requests = [r for r in front.requests if r.caller != f"basic:{MASTER}"]
    actions = {n.action for r in indexer_requests for n in needed(r)}
    indices = {n.index for r in indexer_requests for n in needed(r) if n.index is not None}

    assert {(r.method, r.path) for r in indexer_requests} == {("POST", "/_bulk")}
    assert actions == {"indices:data/write/bulk", "indices:data/write/bulk[s]", "indices:data/write/index"}
    assert indices <= aliases  # aliases only, never a concrete index
    assert indices == {"trading-signals", "trade-executions", "fills", "risk-events", "equity-snapshots"}


def test_an_alias_lookup_or_template_write_by_the_indexer_would_be_refused(front: SearchFront) -> None:
    # What the indexer did before it left setup to SearchSetup: FGAC answers 403 to both.
    role = front.security.roles[INDEXER_ROLE]
    lookups = [
        Recorded("GET", "/_alias/trading-signals", {}, b"", "sigv4:indexer", 200),
        Recorded("PUT", "/_index_template/trading-signals", {}, b"{}", "sigv4:indexer", 200),
        Recorded("PUT", "/trading-signals-v2", {}, b"{}", "sigv4:indexer", 200),
    ]

    assert refused(lookups, role) == [
        "indices:admin/aliases/get on index * (for GET /_alias/trading-signals)",
        "indices:admin/index_template/put on cluster (for PUT /_index_template/trading-signals)",
        "indices:admin/create on index trading-signals-v2 (for PUT /trading-signals-v2)",
    ]
