"""SearchSetup: at deploy, map the indexer's IAM role to its FGAC role and apply the index templates.

A CloudFormation custom resource through the CDK provider framework (which speaks CloudFormation's response
protocol, so our handler only returns a dict). The handler is `functions/search_setup/handler.py`, with the
indexer's layers, but it runs as its own function with its own role: only it may read the domain's
master-user secret. Its properties carry a digest of the templates, so a template change
re-runs it on the next deploy.
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import CfnElement, CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.components.conventions import acknowledge, log_retention, removal_policy
from infra.components.layers import ARCHITECTURE, ASSET_EXCLUDES, RUNTIME, PipelineLayers
from infra.config import StageConfig
from infra.paths import FUNCTIONS_DIR
from tradepipe import resources
from tradepipe.adapters.search_templates import component_templates, index_templates

SETUP_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPut", "es:ESHttpPost")


def templates_digest() -> str:
    applied = {"components": component_templates(), "indexes": index_templates()}
    return hashlib.sha256(json.dumps(applied, sort_keys=True).encode()).hexdigest()[:16]


class SearchSetup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: PipelineLayers,
        domain: opensearch.Domain,
        indexer_role: iam.IRole,
    ) -> None:
        super().__init__(scope, construct_id)
        master = domain.node.try_find_child("MasterUser")
        if not isinstance(master, secretsmanager.Secret):
            raise TypeError("the search domain must generate its master-user secret (master_user_name only)")
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention(config), removal_policy=removal_policy(config)
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"tradepipe {config.stage} search setup (deploy time)",
        )
        self.log_group.grant_write(self.role)
        master.grant_read(self.role)
        # The paths it writes (_plugins/_security/api/..., _index_template/..., <index>/_alias/...) are all
        # under the domain; FGAC then checks the master user's rights.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(SETUP_ACTIONS), resources=[f"{domain.domain_arn}/*"])
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=f"{config.name_prefix}-search-setup",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / "search_setup"), exclude=ASSET_EXCLUDES),
            # The indexer's layers: the same OpenSearch client, with the master user's credentials.
            layers=layers.for_function(resources.INDEXER_FUNCTION.name),
            timeout=Duration.minutes(2),
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            environment={"TRADEPIPE_STAGE": config.stage, "POWERTOOLS_SERVICE_NAME": "search-setup"},
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            log_group=logs.LogGroup(
                self, "ProviderLogs", retention=log_retention(config), removal_policy=removal_policy(config)
            ),
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type="Custom::TradepipeSearchSetup",
            properties={
                "Endpoint": f"https://{domain.domain_endpoint}",
                "IndexerRoleArn": indexer_role.role_arn,
                "MasterUserSecretArn": master.secret_arn,
                "TemplatesDigest": templates_digest(),
            },
        )
        self.resource.node.add_dependency(domain)

        stack = Stack.of(self)
        domain_id = stack.get_logical_id(_cfn(domain))
        function_id = stack.get_logical_id(_cfn(self.function))
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::<{domain_id}.Arn>/*]",
            "The setup writes security-plugin documents, templates and aliases under paths named at run time "
            "(_plugins/_security/api/roles/<name>, _index_template/<name>); scoped to this one domain.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to the runtime the layers are built for (infra/layer_specs.py), as the pipeline's are.",
        )
        acknowledge(
            self.provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "The CDK provider framework's own function (not ours) uses this AWS policy for its logs.",
        )
        acknowledge(
            self.provider,
            f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
            "The provider framework may invoke the setup function's versions (<arn>:*), as CDK generates it.",
        )
        acknowledge(
            self.provider,
            "AwsSolutions-L1",
            "The provider framework's runtime is chosen by aws-cdk-lib and moves with its upgrades.",
        )


def _cfn(construct: Construct) -> CfnElement:
    child = construct.node.default_child
    if not isinstance(child, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return child
