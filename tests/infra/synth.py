"""The synthesized CloudFormation template, grouped by construct, and helpers to read its IAM statements.

cdk-nag runs in every synth (infra/app.py), so the fixtures built on `synthesize` also fail on an
unacknowledged finding. Layers are forced to the placeholder so the tests never depend on (or copy)
`make layers` output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnElement
from aws_cdk.assertions import Template
from constructs import IConstruct

from infra import layer_specs
from infra.app import build_app, cdk_json_context
from infra.stacks.tradepipe_stack import TradepipeStack


class Synth:
    def __init__(self, stack: TradepipeStack, template: dict[str, Any], outdir: Path) -> None:
        self.stack = stack
        self.raw = template
        self.template = Template.from_json(template)
        self.outdir = outdir

    def logical_id(self, construct: IConstruct) -> str:
        child = construct.node.default_child
        assert isinstance(child, CfnElement), construct.node.path
        return self.stack.get_logical_id(child)

    def resources_of(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == cfn_type}

    def function(self, name: str) -> dict[str, Any]:
        fn = self.stack.function_constructs[name].function
        resource: dict[str, Any] = self.raw["Resources"][self.logical_id(fn)]
        return resource


def synthesize(tmp_path_factory: pytest.TempPathFactory, stage: str) -> Synth:
    outdir = tmp_path_factory.mktemp(f"cdk-{stage}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layer_specs, "LAYER_BUILD_DIR", outdir / "no-layers-built")
        app, stack = build_app({**cdk_json_context(), "stage": stage}, outdir=str(outdir))
        assembly = app.synth()
    return Synth(stack, assembly.get_stack_by_name(stack.stack_name).template, outdir)


def statements_of(synth: Synth) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in synth.raw["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            documents.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents.extend(p["PolicyDocument"] for p in props.get("Policies", []))
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def policy_of(synth: Synth, function_name: str) -> list[dict[str, Any]]:
    role = synth.stack.function_constructs[function_name].role
    role_id = synth.logical_id(role)
    return [
        statement
        for resource in synth.resources_of("AWS::IAM::Policy").values()
        if {"Ref": role_id} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions_on(statements: list[dict[str, Any]], resource_ref: str) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        if resource_ref in json.dumps(statement["Resource"]):
            actions = statement["Action"]
            found.update([actions] if isinstance(actions, str) else actions)
    return found
