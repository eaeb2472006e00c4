"""The synthesized CloudFormation template, read the way a deploy would use it: our functions (code asset,
handler, layers, environment, role), their IAM policies, and CloudFormation's intrinsic functions resolved
to values.

Our functions are the `AWS::Lambda::Function` resources on a Python runtime; the CDK provider framework's
own functions (Node.js) are not ours to check. Functions are found by what the template says, never by
directory names, so a rename of `functions/` or `infra/components` leaves the checks working.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The pseudo parameters of the account the checks pretend to deploy to (moto's default account).
ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
# Secrets Manager appends six random characters to a secret's name in its ARN.
SECRET_SUFFIX = "-AbCdEf"  # noqa: S105 - an ARN suffix, not a password


# (logical id, attribute or None for a Ref) -> a value, or None to resolve as CloudFormation would.
Override = Callable[[str, str | None], str | None]


class Unresolvable(ValueError):
    """An intrinsic the resolver cannot turn into a value (the message names it)."""


@dataclass(frozen=True)
class Layer:
    logical_id: str
    name: str  # LayerName, e.g. tradepipe-dev-core
    asset_dir: Path | None

    def spec_name(self, prefix: str) -> str:
        """`core` for `tradepipe-dev-core`: how the check finds the same layer built for this machine."""
        return self.name.removeprefix(f"{prefix}-")


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str  # FunctionName, e.g. tradepipe-dev-webhook
    handler: str  # module.attribute
    runtime: str
    code_dir: Path
    layers: tuple[Layer, ...]
    environment: Mapping[str, Any]  # values may be intrinsics: resolve with Template.resolve
    role_logical_id: str
    timeout_s: int
    memory_mb: int
    tracing_active: bool

    def short_name(self, prefix: str) -> str:
        return self.name.removeprefix(f"{prefix}-")


class Template:
    def __init__(self, template: dict[str, Any], assembly_dir: Path, assets: dict[str, Any]) -> None:
        self.raw = template
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self._dir = assembly_dir
        self._assets = assets

    @classmethod
    def load(cls, assembly_dir: Path, stack_name: str) -> Template:
        template = json.loads((assembly_dir / f"{stack_name}.template.json").read_text(encoding="utf-8"))
        assets = json.loads((assembly_dir / f"{stack_name}.assets.json").read_text(encoding="utf-8"))
        return cls(template, assembly_dir, assets.get("files", {}))

    def replaced(self, raw: dict[str, Any]) -> Template:
        """The same assembly with another template body (a test's edited copy)."""
        return Template(raw, self._dir, self._assets)

    # --- functions ---------------------------------------------------------------------------------------

    def functions(self) -> list[Function]:
        found = []
        for logical_id, resource in self.resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] != "AWS::Lambda::Function" or not str(props.get("Runtime", "")).startswith(
                "python"
            ):
                continue
            found.append(
                Function(
                    logical_id=logical_id,
                    name=str(props.get("FunctionName", logical_id)),
                    handler=str(props["Handler"]),
                    runtime=str(props["Runtime"]),
                    code_dir=self._asset_dir(props["Code"]),
                    layers=tuple(self._layer(ref) for ref in props.get("Layers", [])),
                    environment=props.get("Environment", {}).get("Variables", {}),
                    role_logical_id=_getatt_target(props["Role"]),
                    timeout_s=int(props.get("Timeout", 3)),
                    memory_mb=int(props.get("MemorySize", 128)),
                    tracing_active=props.get("TracingConfig", {}).get("Mode") == "Active",
                )
            )
        return sorted(found, key=lambda f: f.name)

    def _asset_dir(self, code: dict[str, Any]) -> Path:
        key = str(code.get("S3Key", "")).removesuffix(".zip")
        asset = self._assets.get(key)
        if asset is None:
            raise Unresolvable(f"code {code} is not a file asset of this assembly")
        return self._dir / str(asset["source"]["path"])

    def _layer(self, ref: Any) -> Layer:
        logical_id = ref.get("Ref") if isinstance(ref, dict) else None
        resource = self.resources.get(str(logical_id))
        if resource is None or resource["Type"] != "AWS::Lambda::LayerVersion":
            raise Unresolvable(f"layer {ref} is not a LayerVersion of this stack")
        props = resource["Properties"]
        content = props.get("Content", {})
        asset_dir = self._asset_dir(content) if "S3Key" in content else None
        return Layer(str(logical_id), str(props.get("LayerName", logical_id)), asset_dir)

    # --- IAM --------------------------------------------------------------------------------------------

    def role_statements(self, role_logical_id: str) -> list[dict[str, Any]]:
        """Every identity-policy statement attached to the role: inline, AWS::IAM::Policy, managed."""
        statements: list[dict[str, Any]] = []
        role = self.resources[role_logical_id]["Properties"]
        for policy in role.get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
        if role.get("ManagedPolicyArns"):
            raise Unresolvable(f"{role_logical_id} has managed policies {role['ManagedPolicyArns']}")
        for resource in self.resources.values():
            if resource["Type"] not in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
                continue
            props = resource["Properties"]
            if {"Ref": role_logical_id} in props.get("Roles", []):
                statements.extend(props["PolicyDocument"]["Statement"])
        return statements

    # --- intrinsic functions ----------------------------------------------------------------------------

    def resolve(self, value: Any, ref: Override | None = None) -> Any:  # noqa: C901 - one branch per intrinsic
        """Resolve Ref / Fn::GetAtt / Fn::Join / Fn::Sub / Fn::Select / Fn::Split recursively.

        `ref` may answer a Ref or GetAtt first (the packaging check maps a queue to its local URL, the
        domain to the local search front); otherwise a Ref is the resource's name or ARN as CloudFormation
        documents it for that type, and GetAtt the attribute's documented form."""
        if isinstance(value, list):
            return [self.resolve(v, ref) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v, ref) for k, v in value.items()}
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return _pseudo(arg) or (ref(arg, None) if ref else None) or self.ref(arg)
        if fn == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return (ref(logical_id, attribute) if ref else None) or self.getatt(logical_id, attribute)
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(str(self.resolve(p, ref)) for p in parts)
        if fn == "Fn::Select":
            index, items = arg
            return self.resolve(items, ref)[int(index)]
        if fn == "Fn::Split":
            separator, source = arg
            return str(self.resolve(source, ref)).split(separator)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            return _substitute(text, {k: str(self.resolve(v, ref)) for k, v in variables.items()}, self, ref)
        if fn.startswith("Fn::") or fn == "Condition":
            raise Unresolvable(f"{fn} is not supported: {value}")
        return {k: self.resolve(v, ref) for k, v in value.items()}

    def ref(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise Unresolvable(f"Ref to unknown resource {logical_id}")
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{props.get('QueueName', logical_id)}"
        if kind in {"AWS::SecretsManager::Secret", "AWS::SNS::Topic", "AWS::Lambda::LayerVersion"}:
            return self.arn_of(logical_id)
        if kind == "AWS::DynamoDB::Table":
            return str(props.get("TableName", logical_id))
        if kind == "AWS::Events::EventBus":
            return str(props.get("Name", logical_id))
        if kind == "AWS::Lambda::Function":
            return str(props.get("FunctionName", logical_id))
        if kind == "AWS::OpenSearchService::Domain":
            return str(props.get("DomainName", logical_id))
        if kind == "AWS::IAM::Role":
            return str(props.get("RoleName", logical_id))
        return logical_id

    def getatt(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise Unresolvable(f"GetAtt of unknown resource {logical_id}")
        props = resource.get("Properties", {})
        if attribute == "Arn":
            return self.arn_of(logical_id)
        if attribute == "StreamArn" and resource["Type"] == "AWS::DynamoDB::Table":
            return f"{self.arn_of(logical_id)}/stream/2024-01-01T00:00:00.000"
        if attribute == "QueueName":
            return str(props.get("QueueName", logical_id))
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        if attribute == "DomainEndpoint":
            return f"search-{props.get('DomainName', logical_id)}.{REGION}.es.amazonaws.com"
        raise Unresolvable(f"GetAtt {logical_id}.{attribute} is not supported")

    def arn_of(self, logical_id: str) -> str:  # noqa: C901 - one ARN form per resource type
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        region, account = REGION, ACCOUNT
        if kind == "AWS::DynamoDB::Table":
            return f"arn:{PARTITION}:dynamodb:{region}:{account}:table/{props.get('TableName', logical_id)}"
        if kind == "AWS::SQS::Queue":
            return f"arn:{PARTITION}:sqs:{region}:{account}:{props.get('QueueName', logical_id)}"
        if kind == "AWS::SecretsManager::Secret":
            name = props.get("Name", logical_id)
            return f"arn:{PARTITION}:secretsmanager:{region}:{account}:secret:{name}{SECRET_SUFFIX}"
        if kind == "AWS::Events::EventBus":
            return f"arn:{PARTITION}:events:{region}:{account}:event-bus/{props.get('Name', logical_id)}"
        if kind == "AWS::Lambda::Function":
            return (
                f"arn:{PARTITION}:lambda:{region}:{account}:function:{props.get('FunctionName', logical_id)}"
            )
        if kind == "AWS::OpenSearchService::Domain":
            return f"arn:{PARTITION}:es:{region}:{account}:domain/{props.get('DomainName', logical_id)}"
        if kind == "AWS::IAM::Role":
            return f"arn:{PARTITION}:iam::{account}:role/{props.get('RoleName', logical_id)}"
        if kind == "AWS::KMS::Key":
            return f"arn:{PARTITION}:kms:{region}:{account}:key/{logical_id}"
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{region}:{account}:{props.get('TopicName', logical_id)}"
        if kind == "AWS::Logs::LogGroup":
            name = props.get("LogGroupName", logical_id)
            return f"arn:{PARTITION}:logs:{region}:{account}:log-group:{name}:*"
        if kind == "AWS::Lambda::LayerVersion":
            return f"arn:{PARTITION}:lambda:{region}:{account}:layer:{props.get('LayerName', logical_id)}:1"
        raise Unresolvable(f"no ARN form for {kind} ({logical_id})")

    def by_type(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] == kind:
                yield logical_id, resource


def _pseudo(name: str) -> str | None:
    return {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": PARTITION,
        "AWS::URLSuffix": "amazonaws.com",
    }.get(name)


def _substitute(text: str, variables: dict[str, str], template: Template, ref: Any) -> str:
    out, rest = [], text
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, _, rest = after.partition("}")
        out.append(before)
        if name in variables:
            out.append(variables[name])
        elif "." in name:
            logical_id, attribute = name.split(".", 1)
            out.append(template.getatt(logical_id, attribute))
        else:
            out.append(str(template.resolve({"Ref": name}, ref)))
    return "".join(out) + rest


def _getatt_target(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise Unresolvable(f"role {value} is not a role of this stack")
