"""WebhookFirewall: an optional AWS WAF web ACL on the API stage (stage config `waf.enabled`).

Rules, in order:
1. a rate-based rule per source IP (`waf.rate_limit_per_5_minutes`), blocking: a leaked URL cannot be
   flooded into invocations and orders-per-minute rejections;
2. AWS's IP reputation list, blocking (botnets and scanners; TradingView's four addresses are not on it);
3. a body-size rule, blocking bodies over `resources.WEBHOOK_MAX_BODY_BYTES` (16 KiB) before they cost an
   invocation: the ACL inspects 16 KB of an API Gateway body (association config) and a larger body
   matches by `oversize_handling=MATCH`. REST APIs have no size setting of their own (10 MB fixed), and
   the function still answers 413 above the same limit, with or without WAF;
4. AWS's common rule set in count mode only: alert text is free-form (JSON, key=value, broken JSON) and
   trips the XSS/LFI signatures by accident, so it feeds metrics and sampled requests, never a block.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StageConfig
from tradepipe import resources

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class WebhookFirewall(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, stage: apigw.Stage
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = config.name_prefix
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{prefix}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{prefix}-api"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerSourceIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=config.waf.rate_limit_per_5_minutes,
                            aggregate_key_type="IP",
                            evaluation_window_sec=300,
                        )
                    ),
                    visibility_config=_visibility(f"{prefix}-rate"),
                ),
                _managed(IP_REPUTATION, priority=1, prefix=prefix, count_only=False),
                wafv2.CfnWebACL.RuleProperty(
                    name="BodyOverLimit",
                    priority=2,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                            ),
                            comparison_operator="GT",
                            size=resources.WEBHOOK_MAX_BODY_BYTES,
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                            ],
                        )
                    ),
                    visibility_config=_visibility(f"{prefix}-body-size"),
                ),
                _managed(COMMON_RULE_SET, priority=3, prefix=prefix, count_only=True),
            ],
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit="KB_16"
                    )
                }
            ),
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )


def _managed(name: str, *, priority: int, prefix: str, count_only: bool) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(count={})
        if count_only
        else wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        visibility_config=_visibility(f"{prefix}-{name}"),
    )
