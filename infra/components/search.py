"""SearchDomain: the OpenSearch domain the indexer writes signals and executions to."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from infra.components.conventions import acknowledge, log_retention, removal_policy
from infra.config import StageConfig

ENGINE_VERSION = opensearch.EngineVersion.OPENSEARCH_2_19
MASTER_USER_NAME = "tradepipe-admin"
# Writes the indexer makes: _bulk (POST), index templates (PUT), reads and existence checks (GET, HEAD).
INDEXER_ACTIONS = ("es:ESHttpPost", "es:ESHttpPut", "es:ESHttpGet", "es:ESHttpHead")


class SearchDomain(Construct):
    """Encrypted at rest and in transit, HTTPS only, fine-grained access control (FGAC).

    Access follows AWS's recommended FGAC setup: the domain policy lets requests reach the domain and FGAC
    authenticates every one of them. People sign in to Dashboards as the master user (internal user
    database; CDK generates the password into Secrets Manager). The indexer signs with SigV4: its IAM
    policy (`grant_indexer`) allows the HTTP verbs, and FGAC allows what its OpenSearch role allows; the
    SearchSetup custom resource (search_setup.py) writes that role and maps the indexer's IAM role to it at
    every deploy.

    An IAM-only domain policy (account principal) would reject the master user's basic-auth requests as
    anonymous, leaving nobody able to create that mapping.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        search = config.opensearch
        stack = Stack.of(self)
        # Slow logs for the queries the dashboards run, application logs for mapping and bulk errors.
        self.log_groups = {
            kind: logs.LogGroup(
                self, f"{kind}Logs", retention=log_retention(config), removal_policy=removal_policy(config)
            )
            for kind in ("SlowSearch", "SlowIndex", "App")
        }
        # Our own resource policy instead of CDK's default, which deploys a custom-resource Lambda to write
        # it. Policies are limited to 10 per account and region: one per stage.
        self.logs_policy = logs.ResourcePolicy(
            self,
            "LogsPolicy",
            resource_policy_name=f"{config.name_prefix}-opensearch-logs",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[group.log_group_arn for group in self.log_groups.values()],
                    conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
                )
            ],
        )
        self.domain = opensearch.Domain(
            self,
            "Domain",
            domain_name=f"{config.name_prefix}-search",
            version=ENGINE_VERSION,
            capacity=opensearch.CapacityConfig(
                data_nodes=search.instance_count,
                data_node_instance_type=search.instance_type,
                # Standby needs three AZs and dedicated masters: not for this size of domain.
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=True, availability_zone_count=2)
            if search.zone_awareness
            else opensearch.ZoneAwarenessConfig(enabled=False),
            ebs=opensearch.EbsOptions(
                volume_size=search.volume_size_gb, volume_type=ec2.EbsDeviceVolumeType.GP3
            ),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_name=MASTER_USER_NAME),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=self.log_groups["SlowSearch"],
                slow_index_log_enabled=True,
                slow_index_log_group=self.log_groups["SlowIndex"],
                app_log_enabled=True,
                app_log_group=self.log_groups["App"],
            ),
            suppress_logs_resource_policy=True,
            removal_policy=removal_policy(config),
        )
        # The domain checks at creation that it may write to its log groups.
        self.domain.node.add_dependency(self.logs_policy)
        self.endpoint = self.domain.domain_endpoint
        # Set on the L1 resource: the L2 `access_policies` prop deploys a custom-resource Lambda to apply the
        # policy after creation. A policy naming the domain by its literal ARN needs no such detour.
        # HTTP verbs on this domain only; who may do what is FGAC's decision (see the class docstring).
        domain_arn = (
            f"arn:{stack.partition}:es:{stack.region}:{stack.account}:domain/{config.name_prefix}-search"
        )
        cfn_domain = self.domain.node.default_child
        if not isinstance(cfn_domain, opensearch.CfnDomain):
            raise TypeError(f"expected the domain's CfnDomain, got {type(cfn_domain).__name__}")
        self.cfn_domain = cfn_domain
        cfn_domain.access_policies = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=["es:ESHttp*"],
                    resources=[f"{domain_arn}/*"],
                )
            ]
        )

        acknowledge(
            self.domain,
            "AwsSolutions-OS1",
            "A public-endpoint domain on purpose: analysts open Dashboards from their browsers with an "
            "internal user (no VPN, bastion or proxy to run) and the indexer, outside any VPC, signs with "
            "SigV4. FGAC authenticates every request (401 without credentials), HTTPS only (TLS 1.2), "
            "encrypted at rest and node to node. A VPC domain needs the indexer in it and a VPN for people.",
        )
        acknowledge(
            self.domain,
            "AwsSolutions-OS3",
            "Lambda outside a VPC and a trader on changing networks have no fixed source IPs; FGAC "
            "authenticates every request (SigV4 for the indexer, the master user for Dashboards).",
        )
        acknowledge(
            self.domain,
            "AwsSolutions-OS5",
            "AWS's recommended FGAC setup: the domain policy admits requests and FGAC authenticates each "
            "one; unauthenticated requests get 401. An IAM-only policy would lock out the master user.",
        )
        acknowledge(
            self.domain,
            "AwsSolutions-OS4",
            "A dashboard for one trader's signals: dedicated master nodes would triple the node count "
            "for no availability gain at this size.",
        )
        acknowledge(
            self.domain,
            "AwsSolutions-SMG4",
            "The master user password (generated by CDK) is used by a person to map IAM roles in "
            "OpenSearch Dashboards, rarely; rotating it needs an UpdateDomainConfig call, done by hand.",
        )
        if not search.zone_awareness:
            acknowledge(
                self.domain,
                "AwsSolutions-OS7",
                f"Stage {config.stage} runs one data node; the index is rebuilt from the DynamoDB tables "
                "(the record of truth) if the node is lost.",
            )

    def grant_indexer(self, grantee: iam.IGrantable) -> None:
        """The verbs the indexer uses, on the domain's paths only."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(INDEXER_ACTIONS),
                resources=[self.domain.domain_arn, f"{self.domain.domain_arn}/*"],
            )
        )
