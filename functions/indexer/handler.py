"""DynamoDB streams -> OpenSearch, one bulk request per batch; failed records reported for retry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe.app.index import index_changes
from tradepipe.composition import index_deps, stream_changes
from tradepipe.observability.lambda_setup import lambda_tools

tools = lambda_tools("indexer")


@tools.entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    changes = stream_changes(event)
    # Executions and fills copy their signal's stage times: one BatchGetItem on the signals table.
    failed = index_changes(changes, index_deps())
    tools.count("DocumentsIndexed", len(changes) - len(failed))
    if failed:
        tools.count("DocumentsFailed", len(failed))
    # Partial batch response: Lambda retries from the lowest failed sequence number.
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
