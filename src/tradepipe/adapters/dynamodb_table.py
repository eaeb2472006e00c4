"""A DynamoDB table on a plain client that speaks Python values, as boto3's resource `Table` does.

Why not the resource: building it lists botocore's data directories for resource models, loads DynamoDB's
and builds the resource and table classes, tens of milliseconds on the first invocation of every function
(the webhook's cold start is what TradingView waits on). The resource's `Table` only adds `TableName` to
the client's calls, and its Python-values behaviour comes from handlers it registers on that client
(`boto3.dynamodb.transform`); the same handlers are registered here, so every adapter's calls (conditions
from `Key`/`Attr`, Decimal numbers, `meta.client` for batch and transactional calls) behave as before.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from boto3.dynamodb.transform import TransformationInjector, copy_dynamodb_params


def python_values_client(client: Any) -> Any:
    """`client` (DynamoDB), taking and returning Python values and condition objects: the handlers the
    resource registers on its own client, under the same ids (registering twice changes nothing)."""
    events = client.meta.events
    injector = TransformationInjector()
    events.register(
        "provide-client-params.dynamodb", copy_dynamodb_params, unique_id="dynamodb-create-params-copy"
    )
    events.register(
        "before-parameter-build.dynamodb",
        injector.inject_condition_expressions,
        unique_id="dynamodb-condition-expression",
    )
    events.register(
        "before-parameter-build.dynamodb",
        injector.inject_attribute_value_input,
        unique_id="dynamodb-attr-value-input",
    )
    events.register(
        "after-call.dynamodb", injector.inject_attribute_value_output, unique_id="dynamodb-attr-value-output"
    )
    return client


class DynamoTable:
    """The subset of the resource `Table` the adapters use: its item actions, `name` and `meta.client`."""

    def __init__(self, client: Any, name: str) -> None:
        self.name = name
        self.meta = SimpleNamespace(client=client)

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("put_item", kwargs)

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("get_item", kwargs)

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("update_item", kwargs)

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("delete_item", kwargs)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("query", kwargs)

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("scan", kwargs)

    def _call(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = getattr(self.meta.client, method)(TableName=self.name, **kwargs)
        return response
