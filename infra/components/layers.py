"""PipelineLayers: the Lambda layers of `infra/layer_specs.py`, from `build/layers/<name>` when built.

Layers are built by `make layers` (`infra/build_layers.py`, pip with `--platform`, no Docker). Synth never
builds them: when a layer is missing, the committed placeholder folder stands in and a warning says the
stack is not deployable yet. With context `require_layers=true` (set it in `make deploy`) a missing layer is
an error instead, so a placeholder can never reach AWS.
"""

from __future__ import annotations

from aws_cdk import Annotations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StageConfig
from infra.layer_specs import LAMBDA_PYTHON_VERSION, LAYERS, LayerSpec, layers_for, relative
from infra.paths import LAYER_PLACEHOLDER_DIR

RUNTIME = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13}[LAMBDA_PYTHON_VERSION]
ARCHITECTURE = lambda_.Architecture.ARM_64
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc"]
PLACEHOLDER_WARNING_ID = "tradepipe:layer-placeholder"


class DependencyLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, spec: LayerSpec, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.built = spec.is_built()
        asset_dir = spec.build_dir if self.built else LAYER_PLACEHOLDER_DIR
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            layer_version_name=f"{config.name_prefix}-{spec.name}",
            description=spec.description[:256],
            # No excludes: a built layer ships its precompiled bytecode (build_layers.compile_bytecode).
            code=lambda_.Code.from_asset(str(asset_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )


class PipelineLayers(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, require_built: bool = False
    ) -> None:
        super().__init__(scope, construct_id)
        self.by_name: dict[str, DependencyLayer] = {
            spec.name: DependencyLayer(self, f"{spec.name.capitalize()}Layer", spec=spec, config=config)
            for spec in LAYERS
        }
        self.core = self.by_name["core"].layer
        self.data = self.by_name["data"].layer
        self.talib = self.by_name["talib"].layer
        self.broker = self.by_name["broker"].layer
        self.search = self.by_name["search"].layer

        missing = [layer.spec for layer in self.by_name.values() if not layer.built]
        if missing:
            message = (
                f"Layers not built ({', '.join(relative(spec.build_dir) for spec in missing)} missing): "
                "synthesized with a placeholder, so this stack must not be deployed. Run `make layers` first."
            )
            if require_built:
                Annotations.of(self).add_error(message)
            else:
                Annotations.of(self).add_warning_v2(PLACEHOLDER_WARNING_ID, message)

    def for_function(self, function_name: str) -> list[lambda_.ILayerVersion]:
        return [self.by_name[spec.name].layer for spec in layers_for(function_name)]
