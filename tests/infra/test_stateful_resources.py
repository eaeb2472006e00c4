"""A deployed stack updates in place: every stateful resource (tables, queues, secrets, the search domain, log
groups, the event bus and its archive, keys, topics) keeps its logical id and physical name across refactors.
CloudFormation replaces a resource whose logical id changes, and a table or a log group replaced is data lost.

`data/stateful_resources.json` is the record of them per stage, as deployed. A change that renames one on
purpose (a migration plan written down) updates the record: `TRADEPIPE_RECORD_STATEFUL=1 pytest` rewrites it.
New stateful resources may appear; recorded ones may not move or vanish."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.infra.synth import Synth

pytestmark = pytest.mark.infra
RECORD = Path(__file__).with_name("data") / "stateful_resources.json"
STATEFUL = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::OpenSearchService::Domain": "DomainName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::KMS::Key": None,
    "AWS::SNS::Topic": "TopicName",
}


def stateful(synth: Synth) -> dict[str, dict[str, Any]]:
    """logical id -> (type, physical name as the template spells it: a string, or its intrinsic)."""
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in synth.raw["Resources"].items():
        kind = resource["Type"]
        if kind in STATEFUL:
            name_key = STATEFUL[kind]
            name = resource.get("Properties", {}).get(name_key) if name_key else None
            found[logical_id] = {"type": kind, "name": name}
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stateful_resources_keep_their_logical_ids_and_names(
    stage: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(stage)
    now = stateful(synth)
    if os.environ.get("TRADEPIPE_RECORD_STATEFUL") == "1":
        record = json.loads(RECORD.read_text()) if RECORD.exists() else {}
        RECORD.write_text(json.dumps({**record, stage: now}, indent=1, sort_keys=True) + "\n")
    recorded: dict[str, dict[str, Any]] = json.loads(RECORD.read_text())[stage]

    moved = {k: v for k, v in recorded.items() if now.get(k) != v}

    assert not moved, f"stateful resources would be replaced (logical id or name changed): {sorted(moved)}"
