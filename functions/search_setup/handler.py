"""CloudFormation custom resource (through the CDK provider framework): after the search domain exists, map
the indexer's IAM role to its FGAC role and apply the index templates. Runs at deploy, never per record.

Its own function and role, so only this deploy-time code can read the domain's master-user secret."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe.app.search_setup import set_up_search
from tradepipe.composition import search_admin
from tradepipe.observability.lambda_setup import logger_for

logger = logger_for("search-setup")
PHYSICAL_ID = "tradepipe-search-setup"


@logger.inject_lambda_context(
    log_event=False, clear_state=True
)  # the event names the secret, never its value; keep logs lean
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        # The domain keeps (or deletes) its data with its own removal policy; nothing to undo here.
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    props = event["ResourceProperties"]
    admin = search_admin(props["Endpoint"], props["MasterUserSecretArn"])
    result = set_up_search(admin, props["IndexerRoleArn"])
    logger.info("search set up", extra=result)
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"Role": result["role"]}}
