"""IAM as tested: each AWS call a handler made (infra/checks/aws_calls.py) becomes the IAM actions and
resource ARNs AWS would authorize, and each is checked against that function's role in the template.

1. **Operation -> action.** The action is `<prefix>:<Operation>`, the prefix being the service's IAM
   namespace (botocore's name, except DynamoDB Streams: `dynamodb:GetRecords`). Exceptions:

   | call | authorized as |
   |---|---|
   | `dynamodb.TransactWriteItems` | each item's `PutItem`/`UpdateItem`/`DeleteItem`/`ConditionCheckItem` |
   | `dynamodb.TransactGetItems` | `GetItem` per item ("Using IAM with DynamoDB transactions") |
   | `dynamodb.BatchGetItem` / `BatchWriteItem` | the batch action on each table in `RequestItems` |
   | `dynamodb.Query` / `Scan` with `IndexName` | on `table/<name>/index/<index>` |
   | `sqs.SendMessageBatch` (and the other batches) | `sqs:SendMessage` (SQS API permissions reference) |
   | `events.PutEvents` | on each entry's bus (`EventBusName`, name or ARN; else `default`) |
   | `sns.Publish` | on the topic (`TopicArn`) |
   | `secretsmanager.*` with a name | on the secret's full ARN (the template's, random suffix included) |

   CloudWatch `PutMetricData` never happens: metrics are EMF lines in the log (Powertools Metrics), so the
   role needs only its log group. X-Ray segments go to the daemon, not through boto3.

2. **What Lambda does with the role.** An event source mapping polls with the function's role, so each
   mapping adds (Lambda's managed policies AWSLambdaSQSQueueExecutionRole / ...DynamoDBExecutionRole):
   SQS `ReceiveMessage`, `DeleteMessage`, `GetQueueAttributes` on the queue; a stream `DescribeStream`,
   `GetRecords`, `GetShardIterator` on the stream and `ListStreams` on `*`; an on-failure destination
   `sqs:SendMessage` (or `sns:Publish`).

3. **Resources.** The calls were made against moto under the test stage's names; `ResourceMap` turns each
   into the resource of the template it stands for (same spec in `tradepipe.resources`, or an alias the
   test names, e.g. the secret it passed as the setup's `MasterUserSecretArn`) and its ARN as the template
   resolves it (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`: infra/checks/template.py). A call to something
   the template does not define is refused: nothing would grant it on AWS.

4. **Evaluation.** The role's identity statements (inline and `AWS::IAM::Policy`): an explicit `Deny`
   wins, else any `Allow` matching both action and resource allows. `Action` / `NotAction` match
   case-insensitively, `Resource` / `NotResource` case-sensitively, with IAM's wildcards: `*` any run of
   characters and `?` one character, both within one colon-separated ARN segment, except that a `*` ending
   a segment may run past colons (IAM User Guide, "IAM JSON policy elements: Resource"); `Resource: "*"`
   matches everything. `Condition` blocks are not evaluated (our roles have none; the test asserts it).
   Resource policies are not consulted: the role must allow on its own, stricter than AWS within one
   account (where e.g. the search domain's policy could also grant). Permission boundaries and SCPs,
   which can only narrow, are out of scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

from infra.checks.aws_calls import AwsCall, Owner
from infra.checks.template import ACCOUNT, PARTITION, REGION, Function, Template
from tradepipe import resources

# botocore service name -> IAM service prefix, where they differ.
PREFIX = {"dynamodbstreams": "dynamodb"}
# Operations authorized as another action of the same service (SQS's batch calls).
SAME_AS = {
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}
_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# What an event source mapping does with the function's role, by source kind.
SQS_POLLER = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
STREAM_POLLER = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
ANY_RESOURCE = "*"


class Unmapped(ValueError):
    """A call this module cannot turn into actions and resources: add its row rather than let it pass."""


@dataclass(frozen=True)
class Ref:
    """A resource as a call names it: kind (table, stream, queue, secret, event-bus, *), name, sub-path."""

    kind: str
    name: str
    sub: str = ""


@dataclass(frozen=True)
class Need:
    function: str
    action: str
    resource: str  # the template's ARN
    why: str

    def __str__(self) -> str:
        return f"{self.function}: {self.action} on {self.resource} (for {self.why})"


# --- 1. a recorded call -> (action, resource) -----------------------------------------------------------


def actions_of(call: AwsCall) -> list[tuple[str, Ref]]:  # noqa: C901 - one branch per row of the table
    prefix = PREFIX.get(call.service, call.service)
    p = call.params
    op = SAME_AS.get((call.service, call.operation), call.operation)
    if call.service == "dynamodb":
        if op == "TransactWriteItems":
            return [
                (f"dynamodb:{_TRANSACT_WRITE[kind]}", Ref("table", body["TableName"]))
                for item in p["TransactItems"]
                for kind, body in item.items()
            ]
        if op == "TransactGetItems":
            return [
                ("dynamodb:GetItem", Ref("table", item["Get"]["TableName"])) for item in p["TransactItems"]
            ]
        if op in {"BatchGetItem", "BatchWriteItem"}:
            return [(f"dynamodb:{op}", Ref("table", name)) for name in p["RequestItems"]]
        if "TableName" in p:
            index = p.get("IndexName")
            return [(f"dynamodb:{op}", Ref("table", p["TableName"], f"index/{index}" if index else ""))]
    if call.service == "dynamodbstreams":
        if op == "ListStreams":
            return [("dynamodb:ListStreams", Ref("*", "*"))]
        if "StreamArn" in p:
            return [(f"dynamodb:{op}", Ref("stream", _table_of_stream(p["StreamArn"])))]
    if call.service == "sqs":
        if "QueueUrl" in p:
            return [(f"sqs:{op}", Ref("queue", str(p["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]))]
        if "QueueName" in p:
            return [(f"sqs:{op}", Ref("queue", p["QueueName"]))]
    if call.service == "secretsmanager" and "SecretId" in p:
        return [(f"secretsmanager:{op}", Ref("secret", _secret_name(p["SecretId"])))]
    if call.service == "sns" and "TopicArn" in p:
        return [(f"sns:{op}", Ref("topic", str(p["TopicArn"]).rsplit(":", 1)[-1]))]
    if call.service == "events" and op == "PutEvents":
        buses = {_bus_name(entry.get("EventBusName", "default")) for entry in p["Entries"]}
        return [("events:PutEvents", Ref("event-bus", bus)) for bus in sorted(buses)]
    raise Unmapped(f"{call}: no row for {prefix}:{op} in infra/checks/iam.py")


def _table_of_stream(arn: str) -> str:
    # arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL
    return arn.split(":table/", 1)[1].split("/", 1)[0]


def _secret_name(secret_id: str) -> str:
    # A full ARN ends in "-" and six random characters that are not part of the name.
    if secret_id.startswith("arn:"):
        return re.sub(r"-[A-Za-z0-9]{6}$", "", secret_id.split(":secret:", 1)[1])
    return secret_id


def _bus_name(name_or_arn: str) -> str:
    return name_or_arn.rsplit("event-bus/", 1)[-1]


# --- 2. what Lambda does with the role ------------------------------------------------------------------


def event_source_needs(template: Template, function: Function) -> list[Need]:
    """The actions each event source mapping of `function` performs with its role."""
    needs: list[Need] = []
    for logical_id, mapping in template.by_type("AWS::Lambda::EventSourceMapping"):
        props = mapping["Properties"]
        if props.get("FunctionName") not in ({"Ref": function.logical_id}, function.name):
            continue
        source = str(template.resolve(props["EventSourceArn"]))
        why = f"event source mapping {logical_id}"
        if source.split(":")[2] == "sqs":
            needs += [Need(function.name, action, source, why) for action in SQS_POLLER]
        elif source.split(":")[2] == "dynamodb" and "/stream/" in source:
            needs += [Need(function.name, action, source, why) for action in STREAM_POLLER]
            needs.append(Need(function.name, "dynamodb:ListStreams", ANY_RESOURCE, why))
        else:
            raise Unmapped(f"{why}: source {source} is neither a queue nor a stream")
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None:
            target = str(template.resolve(destination))
            action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}.get(target.split(":")[2])
            if action is None:
                raise Unmapped(f"{why}: on-failure destination {target}")
            needs.append(Need(function.name, action, target, f"{why} on-failure destination"))
    return needs


def search_needs(function: str, domain_arn: str, requests: Iterable[tuple[str, str]]) -> list[Need]:
    """A SigV4-signed request to an OpenSearch Service domain is authorized as `es:ESHttp<Verb>` on the
    domain's ARN followed by the request path (OpenSearch Service guide, "Identity and Access Management")."""
    return [
        Need(function, f"es:ESHttp{method.capitalize()}", f"{domain_arn}{path}", f"{method} {path}")
        for method, path in requests
    ]


# --- 3. recorded names -> the template's resources ------------------------------------------------------


class UnknownResource(LookupError):
    pass


def stage_renames(recorded_stage: str, template_stage: str) -> dict[str, str]:
    """Each resource name of `tradepipe.resources` under the test's stage -> the same under the template's."""
    renames: dict[str, str] = {}
    for table in resources.TABLES:
        renames[table.name(recorded_stage)] = table.name(template_stage)
    for queue in resources.QUEUES:
        renames[queue.name(recorded_stage)] = queue.name(template_stage)
        renames[queue.dlq_name(recorded_stage)] = queue.dlq_name(template_stage)
    for secret in (*resources.SECRETS, resources.NOTIFY_SECRET):
        renames[secret.name(recorded_stage)] = secret.name(template_stage)
    renames[resources.notify_topic_name(recorded_stage)] = resources.notify_topic_name(template_stage)
    renames[resources.EVENT_BUS.name(recorded_stage)] = resources.EVENT_BUS.name(template_stage)
    return renames


_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": ("table", "TableName"),
    "AWS::SQS::Queue": ("queue", "QueueName"),
    "AWS::SecretsManager::Secret": ("secret", "Name"),
    "AWS::Events::EventBus": ("event-bus", "Name"),
    "AWS::SNS::Topic": ("topic", "TopicName"),
}


class ResourceMap:
    """`renames`: recorded name -> the template's name; `aliases`: recorded name -> a template ARN, for
    resources the template leaves unnamed (CloudFormation generates the master-user secret's name)."""

    def __init__(
        self, template: Template, renames: Mapping[str, str] = {}, aliases: Mapping[str, str] = {}
    ) -> None:
        self._template = template
        self._renames = dict(renames)
        self._aliases = dict(aliases)
        self._by_name: dict[tuple[str, str], str] = {}
        for kind_name, (kind, prop) in _NAME_PROPERTY.items():
            for logical_id, resource in template.by_type(kind_name):
                name = resource.get("Properties", {}).get(prop)
                if isinstance(name, str):
                    self._by_name[(kind, name)] = logical_id

    def arn(self, ref: Ref) -> str:
        if ref.kind == "*":
            return ANY_RESOURCE
        if ref.name in self._aliases:
            return self._aliases[ref.name] + (f"/{ref.sub}" if ref.sub else "")
        name = self._renames.get(ref.name, ref.name)
        if ref.kind == "event-bus" and name == "default":
            return f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/default"
        logical_id = self._by_name.get(("table" if ref.kind == "stream" else ref.kind, name))
        if logical_id is None:
            raise UnknownResource(f"{ref.kind} {ref.name!r} is not a resource of the template")
        if ref.kind == "stream":
            return self._template.getatt(logical_id, "StreamArn")
        return self._template.arn_of(logical_id) + (f"/{ref.sub}" if ref.sub else "")

    def logical_id(self, kind: str, name: str) -> str | None:
        return self._by_name.get((kind, self._renames.get(name, name)))


# --- 4. evaluation --------------------------------------------------------------------------------------


def _listed(statement: Mapping[str, Any], key: str) -> list[str] | None:
    value = statement.get(key)
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


@cache
def _pattern(pattern: str, case_sensitive: bool, arn: bool) -> re.Pattern[str]:
    if "${" in pattern:
        raise Unmapped(f"policy variable in {pattern!r}: not evaluated here")
    out = []
    for i, char in enumerate(pattern):
        if char == "*":
            # In an ARN, `*` stays inside its segment unless it ends one (then it may run past colons).
            ends_segment = i + 1 == len(pattern) or pattern[i + 1] == ":"
            out.append(".*" if not arn or ends_segment else "[^:]*")
        elif char == "?":
            out.append("[^:]" if arn else ".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), 0 if case_sensitive else re.IGNORECASE)


def _matches(patterns: Iterable[str], value: str, *, arn: bool) -> bool:
    return any(
        pattern == "*" or _pattern(pattern, arn, arn).fullmatch(value) is not None for pattern in patterns
    )


def _applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    actions, not_actions = _listed(statement, "Action"), _listed(statement, "NotAction")
    resources_, not_resources = _listed(statement, "Resource"), _listed(statement, "NotResource")
    action_ok = (
        _matches(actions, action, arn=False)
        if actions is not None
        else not _matches(not_actions or [], action, arn=False)
    )
    resource_ok = (
        _matches(resources_, resource, arn=True)
        if resources_ is not None
        else not _matches(not_resources or [], resource, arn=True)
    )
    return action_ok and resource_ok


def allows(statements: Iterable[Mapping[str, Any]], action: str, resource: str) -> bool:
    allowed = False
    for statement in statements:
        if not _applies(statement, action, resource):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


# --- the check ------------------------------------------------------------------------------------------


class Check:
    """The template's functions, their resolved policies and the way recorded names map to resources."""

    def __init__(self, template: Template, names: ResourceMap) -> None:
        self.template = template
        self.names = names
        self.functions = {f.name: f for f in template.functions()}
        self._statements = {
            f.name: [template.resolve(s) for s in template.role_statements(f.role_logical_id)]
            for f in self.functions.values()
        }

    def statements(self, function: str) -> list[dict[str, Any]]:
        return self._statements[function]

    def needs(self, calls: Iterable[AwsCall]) -> Iterator[Need | str]:
        """Each (action, resource) the calls need, or a line saying why a call has none."""
        for call in calls:
            try:
                pairs = actions_of(call)
            except Unmapped as exc:
                yield str(exc)
                continue
            for action, ref in pairs:
                try:
                    yield Need(call.function, action, self.names.arn(ref), f"{call.service}.{call.operation}")
                except UnknownResource as exc:
                    yield f"{call}: {exc}"

    def domain_arn(self) -> str:
        (logical_id, _), *others = self.template.by_type("AWS::OpenSearchService::Domain")
        if others:
            raise Unmapped("more than one search domain: say which one the requests went to")
        return self.template.arn_of(logical_id)

    def refused(
        self, calls: Iterable[AwsCall], extra: Iterable[Need] = (), with_event_sources: bool = True
    ) -> list[str]:
        """One line per action the functions' roles do not allow; [] when every call would be authorized.
        `extra`: needs that are not boto3 calls (signed search requests)."""
        lines: list[str] = []
        needs: list[Need | str] = [*self.needs(calls), *extra]
        if with_event_sources:
            for function in self.functions.values():
                needs += event_source_needs(self.template, function)
        for need in needs:
            if isinstance(need, str):  # a call with no mapping or no resource: refused as such
                lines.append(need)
            elif need.function not in self.functions:
                lines.append(f"{need}: no such function in the template")
            elif not allows(self._statements[need.function], need.action, need.resource):
                lines.append(str(need))
        return sorted(set(lines))


def handler_owner(template: Template) -> Owner:
    """Which function a frame belongs to: the frame of a function's handler attribute in a file whose text
    is that function's handler module in the template's code asset (functions/<dir>/<module>.py in this
    process, asset.<hash>/<module>.py in the assembly)."""
    sources: dict[str, tuple[str, str]] = {}
    for function in template.functions():
        module, _, attribute = function.handler.rpartition(".")
        source = function.code_dir / (module.replace(".", "/") + ".py")
        sources[source.read_text(encoding="utf-8")] = (function.name, attribute)
    by_file: dict[str, tuple[str, str] | None] = {}

    def owner(frame: FrameType) -> str | None:
        filename = frame.f_code.co_filename
        if filename not in by_file:
            try:
                by_file[filename] = sources.get(Path(filename).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                by_file[filename] = None
        entry = by_file[filename]
        return entry[0] if entry is not None and frame.f_code.co_name == entry[1] else None

    return owner
