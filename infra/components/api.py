"""WebhookApi: the REST API TradingView posts alerts to."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.conventions import acknowledge, log_retention, removal_policy
from infra.components.waf import WebhookFirewall
from infra.config import StageConfig


class WebhookApi(Construct):
    """`POST /webhook` and `POST /webhook/{token}` -> the API function (Lambda proxy), open to TradingView;
    `GET /signals` (the list), `GET /signals/{signal_id}`, `GET|POST /trading-state/{account}` (the kill
    switch) and `POST /flatten/{account}` (close a ticker's whole position) -> the same function,
    IAM-authorized (SigV4) for operators and tools.

    Alert authentication happens in the function: TradingView can neither sign requests nor send custom
    headers, so the passphrase travels in the body or the path and is checked against the webhook secret.
    The optional source-IP allowlist is a resource policy that denies the webhook routes to anyone else.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, webhook: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(config),
            removal_policy=removal_policy(config),
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            policy=_allowlist_policy(config.api.allowed_source_ips),
            rest_api_name=f"{config.name_prefix}-api",
            description="TradingView webhook intake",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access and execution logs need the account-level API Gateway CloudWatch role. It is one
            # setting per account and region, shared by stages: keep it when a stack is deleted.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                throttling_rate_limit=config.api.throttle_rate_limit,
                throttling_burst_limit=config.api.throttle_burst_limit,
                # Off: an X-Ray trace of this stage records the request path, /webhook/{token} included.
                tracing_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                # Execution logs at ERROR only; data tracing would log request bodies, which hold the
                # passphrase.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        integration = apigw.LambdaIntegration(webhook, proxy=True, allow_test_invoke=False)
        webhook_resource = self.api.root.add_resource("webhook")
        token_resource = webhook_resource.add_resource("{token}")
        # Nothing to validate at the edge: the body is text/plain from TradingView and is parsed (and
        # size-checked) by the function.
        self.webhook_methods = [
            resource.add_method("POST", integration, authorization_type=apigw.AuthorizationType.NONE)
            for resource in (webhook_resource, token_resource)
        ]
        for method in self.webhook_methods:
            acknowledge(
                method,
                "AwsSolutions-APIG4",
                "TradingView cannot sign requests or send headers; the function authenticates the passphrase "
                "(body or path) against the webhook secret.",
            )
            acknowledge(method, "AwsSolutions-COG4", "TradingView cannot obtain Cognito tokens; see APIG4.")
        self.webhook_method = self.webhook_methods[0]
        signals_root = self.api.root.add_resource("signals")
        signals = signals_root.add_resource("{signal_id}")
        # The list and the trail are for operators and tools: SigV4-signed callers with execute-api:Invoke.
        self.list_method = signals_root.add_method(
            "GET", integration, authorization_type=apigw.AuthorizationType.IAM
        )
        self.read_method = signals.add_method(
            "GET", integration, authorization_type=apigw.AuthorizationType.IAM
        )
        for method in (self.list_method, self.read_method):
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "Readers are operators and tools with AWS credentials: IAM (SigV4), not Cognito.",
            )
        # The kill switch: read or set an account's trading state (halt / resume). Operators only.
        trading_state = self.api.root.add_resource("trading-state").add_resource("{account}")
        self.trading_state_methods = [
            trading_state.add_method(verb, integration, authorization_type=apigw.AuthorizationType.IAM)
            for verb in ("GET", "POST")
        ]
        for method in self.trading_state_methods:
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "Halt and resume are operator actions with AWS credentials: IAM (SigV4), not Cognito.",
            )
        # Flatten: close a ticker's whole position, every strategy's shares. It moves money: operators only,
        # as the kill switch (never reachable with the webhook passphrase).
        flatten = self.api.root.add_resource("flatten").add_resource("{account}")
        self.flatten_method = flatten.add_method(
            "POST", integration, authorization_type=apigw.AuthorizationType.IAM
        )
        acknowledge(
            self.flatten_method,
            "AwsSolutions-COG4",
            "Flatten is an operator action with AWS credentials: IAM (SigV4), not Cognito.",
        )
        self.firewall: WebhookFirewall | None = None
        if config.waf.enabled:
            self.firewall = WebhookFirewall(self, "Firewall", config=config, stage=self.api.deployment_stage)
        else:
            acknowledge(
                self.api.deployment_stage,
                "AwsSolutions-APIG3",
                f"Stage {config.stage} runs without WAF (waf.enabled=false in cdk.json, ~$6/month saved): "
                "stage throttling bounds what a leaked URL costs and the function answers 413 over "
                "WEBHOOK_MAX_BODY_BYTES. Production enables the web ACL (infra/components/waf.py).",
            )
        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "The only route takes a text/plain body that API Gateway models cannot describe (TradingView "
            "sends free text, sometimes broken JSON); the function parses and bounds it.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level API Gateway logging role needs exactly this AWS-maintained policy.",
        )

    @property
    def webhook_url(self) -> str:
        return self.api.url_for_path("/webhook")


WEBHOOK_ROUTES = ("execute-api:/*/POST/webhook", "execute-api:/*/POST/webhook/*")


def _allowlist_policy(allowed_ips: list[str]) -> iam.PolicyDocument | None:
    """Allow the webhook routes from the allowlisted sources only, and nothing else.

    The IAM-authorized routes (/signals, /trading-state, /flatten) are not named: for a caller of this
    account API Gateway allows a request when the caller's IAM policy allows it and the resource policy
    does not deny it (AWS docs, "How API Gateway resource policies affect authorization workflow"). An
    `Allow *` here would also admit any AWS principal of any account whose own policy allows
    execute-api:Invoke, to the kill switch and flatten included."""
    if not allowed_ips:
        return None
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                effect=iam.Effect.ALLOW,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=list(WEBHOOK_ROUTES),
                conditions={"IpAddress": {"aws:SourceIp": allowed_ips}},
            ),
        ]
    )
