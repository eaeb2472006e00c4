"""IAM as tested: every AWS call each handler makes against moto, recorded in-process through botocore's
event system (infra/checks/aws_calls.py), must be allowed by that function's role in the synthesized
template (infra/checks/iam.py), and so must what Lambda's event source mappings do with the role.

One trading day through every handler and route, in deploy-then-alert order: the search setup at deploy;
an alert while the market is closed (queued for the open); the API's read routes, the kill switch and
flatten; the risk schedule releasing the entry at the open; risk sizing it; the executor placing the
bracket; the reconciler seeing the take-profit leg fill; the indexer on all four tables' streams.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.checks.aws_calls import AwsCall, AwsCallRecorder
from infra.checks.iam import (
    Check,
    ResourceMap,
    actions_of,
    allows,
    handler_owner,
    search_needs,
    stage_renames,
)
from infra.checks.search_front import SearchFront
from infra.checks.sigv4_check import SigningKey
from infra.checks.template import Template
from tests.infra.synth import synthesize
from tests.integration.conftest import PASSPHRASE, STAGE, Aws
from tests.integration.events import rest_event, sqs_event
from tests.integration.test_indexer_all_documents import _stream_event
from tests.support.lambda_context import LocalLambdaContext
from tests.unit.builders import alert_body, fresh_timestamp
from tradepipe import composition, resources

PREFIX = "tradepipe-dev"
SETUP, WEBHOOK, RISK, EXECUTOR, INDEXER, NOTIFIER = (
    f"{PREFIX}-{name}" for name in ("search-setup", "webhook", "risk", "executor", "indexer", "notifier")
)
SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
MASTER_SECRET = "tradepipe-itest-iam-search-master"
SATURDAY = datetime(2024, 1, 6, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Recorded:
    template: Template
    check: Check
    calls: list[AwsCall]
    signed_search_requests: list[tuple[str, str]]  # (method, path) the indexer signed with its role


def _setup_secret_arn(template: Template) -> str:
    """What the template passes the setup as MasterUserSecretArn (a Ref to a secret it leaves unnamed)."""
    for resource in template.resources.values():
        kind, props = resource["Type"], resource.get("Properties", {})
        custom = kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"
        if custom and "MasterUserSecretArn" in props:
            return str(template.resolve(props["MasterUserSecretArn"]))
    raise LookupError("no custom resource passes MasterUserSecretArn")


def _take(aws: Aws, queue: str) -> dict[str, Any]:
    """The queue's messages as the event source mapping would deliver them (received and deleted)."""
    sqs: Any = aws.client("sqs")
    provisioned = aws.provisioned.queues[queue]
    got = sqs.receive_message(
        QueueUrl=provisioned.url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    for message in got:
        sqs.delete_message(QueueUrl=provisioned.url, ReceiptHandle=message["ReceiptHandle"])
    return sqs_event(got, provisioned.arn)


def _forget_clients() -> None:
    """Drop every cached client, secret and broker (a cold container; also: clients built before recording
    starts would not be hooked)."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    composition.reset()
    DEFAULT_PROVIDERS.clear()


class Containers:
    """One Lambda container per function. In this process every handler shares the composition root's
    caches, so a secret risk fetched would be a hit for the executor; caches are dropped whenever the next
    invocation is another function's, so each function makes (and is credited with) its own calls."""

    def __init__(self) -> None:
        self._last: str | None = None

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        from functions.api.handler import lambda_handler as webhook
        from functions.executor.handler import lambda_handler as executor
        from functions.indexer.handler import lambda_handler as indexer
        from functions.notifier.handler import lambda_handler as notifier
        from functions.risk.handler import lambda_handler as risk
        from functions.search_setup.handler import lambda_handler as setup

        handlers = {SETUP: setup, WEBHOOK: webhook, RISK: risk, EXECUTOR: executor, INDEXER: indexer}
        handler = {**handlers, NOTIFIER: notifier}[name]
        if name != self._last:
            _forget_clients()
            self._last = name
        return handler(event, LocalLambdaContext(name.removeprefix(f"{PREFIX}-"), 60))

    def api(self, method: str, path: str, resource: str, body: str = "", **kw: Any) -> int:
        event = rest_event(body, path=path, method=method, resource=resource, source_ip="127.0.0.1", **kw)
        if method == "GET":
            event["body"] = None
        status: int = self.invoke(WEBHOOK, event)["statusCode"]
        return status


def _trading_day(aws: Aws, broker: Any, front: SearchFront) -> None:  # noqa: PLR0915 - one story
    from tradepipe.local.paper_broker.market_clock import MarketClock

    lambdas = Containers()
    secrets: Any = aws.client("secretsmanager")
    master = secrets.create_secret(
        Name=MASTER_SECRET, SecretString=json.dumps({"username": "tradepipe-admin", "password": "pw"})
    )["ARN"]
    properties = {
        "Endpoint": front.url,
        "IndexerRoleArn": "arn:aws:iam::123456789012:role/tradepipe-itest-indexer",
        "MasterUserSecretArn": master,
    }
    assert lambdas.invoke(SETUP, {"RequestType": "Create", "ResourceProperties": properties})

    market = httpx.Client(base_url=broker.url, timeout=10, headers=broker.headers)
    market.post("/_paper/prices", json={"AAPL": "430.47"}).raise_for_status()
    open_clock = broker.engine.market_clock
    broker.engine.market_clock = MarketClock(always_open=False, now=lambda: SATURDAY)  # closed at any hour
    try:
        alert = alert_body(
            passphrase=PASSPHRASE,
            timestamp=fresh_timestamp(0),
            entryPrice=430.47,
            stopLoss=420.0,
            takeProfit=450.0,
            strategy="mean_reversion",  # its profile queues an entry that arrives while the market is closed
            timeframe="1D",  # a daily-chart alert: its 10-point stop is a day's scale (ATR on its bars)
        )
        accepted = lambdas.invoke(WEBHOOK, rest_event(json.dumps(alert)))
        assert accepted["statusCode"] == 202, accepted
        signal_id = json.loads(accepted["body"])["signal_id"]
        assert lambdas.invoke(WEBHOOK, rest_event(json.dumps(alert)))["statusCode"] == 200  # the duplicate
        assert lambdas.invoke(RISK, _take(aws, "signals")) == {"batchItemFailures": []}
        assert composition.backend().signal_store.get(signal_id).status.value == "QUEUED"  # type: ignore[union-attr]
    finally:
        broker.engine.market_clock = open_clock

    # The API's read routes and the kill switch.
    assert lambdas.api("GET", "/signals", "/signals") == 200
    paper = {"account": "paper"}
    assert (
        lambdas.api("GET", "/trading-state/paper", "/trading-state/{account}", path_parameters=paper) == 200
    )
    for state in ("HALTED", "ACTIVE"):
        switch = json.dumps({"state": state, "reason": "iam check", "by": "itest"})
        assert (
            lambdas.api(
                "POST", "/trading-state/paper", "/trading-state/{account}", switch, path_parameters=paper
            )
            == 200
        )
    # Flatten: recorded as a signal and handed to the executor on the intents queue (taken off here: the
    # day's story goes on with AAPL's entry).
    flatten = json.dumps({"ticker": "MSFT", "by": "itest"})
    assert lambdas.api("POST", "/flatten/paper", "/flatten/{account}", flatten, path_parameters=paper) == 202
    (handed,) = _take(aws, "order-intents")["Records"]
    assert json.loads(handed["body"])["kind"] == "flatten"

    # The open: the schedule releases the queued entry, risk sizes it, the executor places the bracket.
    released = lambdas.invoke(RISK, SCHEDULE)
    assert released["released"] == 1, released
    assert lambdas.invoke(RISK, _take(aws, "signals")) == {"batchItemFailures": []}
    intents = _take(aws, "order-intents")
    assert len(intents["Records"]) == 1, composition.backend().signal_store.get(signal_id)
    assert lambdas.invoke(EXECUTOR, intents) == {"batchItemFailures": []}
    by_id = {"signal_id": signal_id}  # its trail now includes the order
    assert lambdas.api("GET", f"/signals/{signal_id}", "/signals/{signal_id}", path_parameters=by_id) == 200
    # The take-profit leg fills: the reconciler records the fill and the exit.
    market.post("/_paper/prices", json={"AAPL": "451.00"}).raise_for_status()
    summary = lambdas.invoke(EXECUTOR, SCHEDULE)
    assert summary["paper"]["fills_recorded"] >= 1, summary

    # The notifier: what the day published (a rejection, the halt) from the bus rule's queue, rendered and
    # sent to the stage's channels: the secret's (none yet, as deployed) and the email topic.
    sns: Any = aws.client("sns")
    topic = sns.create_topic(Name=resources.notify_topic_name(STAGE))["TopicArn"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRADEPIPE_NOTIFY_SECRET_NAME", resources.NOTIFY_SECRET.name(STAGE))
        env.setenv("TRADEPIPE_NOTIFY_EMAIL_TOPIC_ARN", topic)
        halt = {
            "detail-type": "TradingStateChanged",
            "detail": {"at": "2024-01-08T15:00:00Z", "account": "paper", "state": "HALTED", "rule": "manual",
                       "detail": "iam check", "by": "itest"},
        }  # fmt: skip
        record = {"MessageId": "n1", "ReceiptHandle": "r1", "Body": json.dumps(halt)}
        assert lambdas.invoke(NOTIFIER, sqs_event([record], "arn:aws:sqs:us-east-1:1:notify")) == {
            "batchItemFailures": []
        }

    # The indexer as deployed: SigV4 over https, through the recording front.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRADEPIPE_OPENSEARCH_ENDPOINT", front.url)
        env.setenv("TRADEPIPE_OPENSEARCH_AUTH", "sigv4")
        for table in ("signals", "orders", "risk-state", "fills"):
            assert lambdas.invoke(INDEXER, _stream_event(aws, table, lambda _: True)) == {
                "batchItemFailures": []
            }


@pytest.fixture(scope="module")
def recorded(aws: Aws, search_url: str, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    from tradepipe.local.paper_broker import BrokerBehaviour, PaperBroker
    from tradepipe.local.paper_broker.server import PaperBrokerServer

    synth = synthesize(tmp_path_factory, "dev")
    template = Template.load(synth.outdir, synth.stack.stack_name)
    names = ResourceMap(
        template,
        renames=stage_renames(STAGE, "dev"),
        aliases={MASTER_SECRET: _setup_secret_arn(template)},
    )
    with (
        # The indexer signs with the functions' credentials here (conftest's environment): the front checks
        # each signature as the domain would.
        SearchFront(search_url, tls=True, keys={"local": SigningKey("local")}.get) as front,
        # Its own: the day's orders and fills must not reach other tests. It answers only the stage secret's
        # keys. The Alpaca behaviour, always open: this test runs at any hour.
        PaperBrokerServer(
            PaperBroker(behaviour=BrokerBehaviour.alpaca(always_open=True)),
            key_id=aws.paper_keys["api_key"],
            secret_key=aws.paper_keys["secret_key"],
        ) as broker,
        pytest.MonkeyPatch.context() as env,
    ):
        assert front.ca_file is not None
        env.setenv("TRADEPIPE_ALPACA_URL_OVERRIDE", broker.url)
        env.setenv("TRADEPIPE_ALPACA_DATA_URL_OVERRIDE", broker.url)
        # The setup and the indexer insist on https, as on AWS: trust the front's certificate.
        env.setenv("SSL_CERT_FILE", str(front.ca_file))
        env.setenv("REQUESTS_CA_BUNDLE", str(front.ca_file))
        env.setenv("AWS_ENDPOINT_URL", aws.endpoint)  # Powertools' own Secrets Manager client
        _forget_clients()
        try:
            with AwsCallRecorder(handler_owner(template)) as recorder:
                _trading_day(aws, broker, front)
        finally:
            _forget_clients()
        signed = [(r.method, r.path) for r in front.requests if r.caller.startswith("sigv4:")]
    return Recorded(template, Check(template, names), recorder.calls, signed)


def _made(recorded: Recorded, function: str) -> set[str]:
    return {f"{c.service}.{c.operation}" for c in recorded.calls if c.function == function}


def test_every_call_each_handler_made_is_allowed_by_its_role(recorded: Recorded) -> None:
    assert recorded.check.refused(recorded.calls) == []


def test_every_search_request_the_indexer_signed_is_allowed_by_its_role(recorded: Recorded) -> None:
    needs = search_needs(INDEXER, recorded.check.domain_arn(), recorded.signed_search_requests)

    assert set(recorded.signed_search_requests) == {("POST", "/_bulk")}
    assert recorded.check.refused([], needs, with_event_sources=False) == []


def test_each_handler_was_recorded_on_each_of_its_paths(recorded: Recorded) -> None:
    # What the scenario must have exercised, so the check above cannot pass on too little.
    assert _made(recorded, SETUP) == {"secretsmanager.GetSecretValue"}
    assert _made(recorded, WEBHOOK) >= {
        "secretsmanager.GetSecretValue",  # passphrases
        "dynamodb.PutItem",  # record the signal (conditional: the duplicate)
        "sqs.SendMessage",  # enqueue it; flatten's intent
        "dynamodb.Query",  # GET /signals, on the by-received-day index
        "dynamodb.GetItem",  # GET /signals/{id}, GET /trading-state
        "dynamodb.UpdateItem",  # the kill switch
        "events.PutEvents",  # ... announced
    }
    assert _made(recorded, RISK) >= {
        "secretsmanager.GetSecretValue",  # Alpaca keys for bars
        "dynamodb.GetItem",
        "dynamodb.UpdateItem",
        "dynamodb.PutItem",  # queue the entry for the open
        "dynamodb.Query",  # take the queued entries at the open
        "dynamodb.DeleteItem",
        "sqs.SendMessage",  # release to the signals queue, then the intent
    }
    assert _made(recorded, EXECUTOR) >= {
        "secretsmanager.GetSecretValue",
        "dynamodb.PutItem",  # the order, the fill, the equity snapshot
        "dynamodb.UpdateItem",
        "dynamodb.GetItem",
        "dynamodb.Query",
    }
    assert _made(recorded, INDEXER) == {"dynamodb.BatchGetItem"}
    assert _made(recorded, NOTIFIER) == {"secretsmanager.GetSecretValue", "sns.Publish"}
    queues = {
        str(c.params["QueueUrl"]).rsplit("/", 1)[-1]
        for c in recorded.calls
        if (c.function, c.operation) == (RISK, "SendMessage")
    }
    assert queues == {f"tradepipe-{STAGE}-signals.fifo", f"tradepipe-{STAGE}-order-intents.fifo"}
    sent_by_api = {
        str(c.params["QueueUrl"]).rsplit("/", 1)[-1]
        for c in recorded.calls
        if (c.function, c.operation) == (WEBHOOK, "SendMessage")
    }
    assert sent_by_api == {f"tradepipe-{STAGE}-signals.fifo", f"tradepipe-{STAGE}-order-intents.fifo"}


def test_no_statement_of_a_function_role_has_a_condition(recorded: Recorded) -> None:
    # Conditions are not evaluated by the check; none may hide in a role for that to be sound.
    for function in recorded.check.functions:
        assert [s for s in recorded.check.statements(function) if "Condition" in s] == [], function


def _without(template: Template, function: str, action: str) -> Template:
    """A synthesized copy of the template whose `function` role no longer grants `action`."""
    raw = copy.deepcopy(template.raw)
    role = next(f for f in template.functions() if f.name == function).role_logical_id
    removed = 0
    for resource in raw["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::IAM::Policy" or {"Ref": role} not in props.get("Roles", []):
            continue
        for statement in props["PolicyDocument"]["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            if action in actions:
                statement["Action"] = [a for a in actions if a != action]
                removed += 1
    assert removed, f"{function}'s role does not grant {action}"
    return template.replaced(raw)


@pytest.mark.parametrize(
    ("function", "action", "refusal"),
    [
        pytest.param(WEBHOOK, "sqs:SendMessage", "sqs.SendMessage", id="webhook-enqueue"),
        pytest.param(WEBHOOK, "events:PutEvents", "events.PutEvents", id="webhook-kill-switch"),
        pytest.param(WEBHOOK, "dynamodb:Query", "dynamodb.Query", id="webhook-list-signals"),
        pytest.param(RISK, "dynamodb:DeleteItem", "dynamodb.DeleteItem", id="risk-schedule-release"),
        pytest.param(RISK, "sqs:ReceiveMessage", "event source mapping", id="risk-event-source"),
        pytest.param(
            EXECUTOR, "secretsmanager:GetSecretValue", "secretsmanager.GetSecretValue", id="executor"
        ),
        pytest.param(INDEXER, "dynamodb:BatchGetItem", "dynamodb.BatchGetItem", id="indexer"),
        pytest.param(INDEXER, "dynamodb:GetRecords", "event source mapping", id="indexer-stream"),
        pytest.param(INDEXER, "es:ESHttpPost", "POST /_bulk", id="indexer-search"),
        pytest.param(SETUP, "secretsmanager:GetSecretValue", "secretsmanager.GetSecretValue", id="setup"),
        pytest.param(NOTIFIER, "sns:Publish", "sns.Publish", id="notifier-email"),
        pytest.param(
            NOTIFIER, "secretsmanager:GetSecretValue", "secretsmanager.GetSecretValue", id="notifier-urls"
        ),
        pytest.param(NOTIFIER, "sqs:ReceiveMessage", "event source mapping", id="notifier-event-source"),
        pytest.param(RISK, "dynamodb:Query", "dynamodb.Query", id="risk-silence-feed"),
    ],
)
def test_a_grant_removed_from_a_synthesized_copy_then_the_call_that_needs_it_is_refused(
    recorded: Recorded, function: str, action: str, refusal: str
) -> None:
    check = Check(_without(recorded.template, function, action), recorded.check.names)

    search = search_needs(INDEXER, check.domain_arn(), recorded.signed_search_requests)

    refused = check.refused(recorded.calls, search)

    assert refused
    assert all(line.startswith(f"{function}: {action} on ") for line in refused), refused
    assert any(f"(for {refusal}" in line for line in refused), refused


def test_every_recorded_need_is_one_a_removed_grant_would_refuse(recorded: Recorded) -> None:
    # Each (action, resource) a call needs is granted by some statement that, without it, would not allow.
    needs = {n for n in recorded.check.needs(recorded.calls) if not isinstance(n, str)}
    assert needs
    for need in needs:
        statements = recorded.check.statements(need.function)
        assert allows(statements, need.action, need.resource), need
        stripped = [
            {
                **s,
                "Action": [
                    a
                    for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
                    if a != need.action
                ],
            }
            for s in statements
        ]
        assert not allows(stripped, need.action, need.resource), need


def test_a_call_to_a_resource_the_template_does_not_define_is_refused(recorded: Recorded) -> None:
    stray = AwsCall(
        WEBHOOK, "sqs", "SendMessage", {"QueueUrl": "http://127.0.0.1/123456789012/elsewhere.fifo"}
    )

    assert actions_of(stray)[0][0] == "sqs:SendMessage"
    assert recorded.check.refused([stray], with_event_sources=False) == [
        f"{WEBHOOK}: sqs.SendMessage: queue 'elsewhere.fifo' is not a resource of the template"
    ]
