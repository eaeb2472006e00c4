"""Which dependencies ship in which Lambda layer, and which function gets which layer.

CDK-free on purpose: `infra/build_layers.py` reads it without importing aws_cdk, and the stack reads it to
attach layers. Pins are not repeated here: builders look each name up in pyproject.toml, so a bump there is
the only change needed.

Why five layers rather than one: every runtime dependency unzipped comes to ~248 MB and Lambda allows
250 MB for a function plus its layers, so each function carries only what it imports. The webhook, the
latency-sensitive one, gets the core layer alone (no pandas, numpy, talib or alpaca). numpy and pandas
are one shared layer: the risk function needs them for TA-Lib and, like the executor, for alpaca-py, which
imports pandas at module level; a layer each would ship pandas twice to the same function.
`make check-packaging` (infra/packaging_check/) imports and invokes every function with only these layers.

boto3/botocore are left out of every layer: the Lambda Python runtime ships them, and bundling botocore
(~80 MB unzipped) would push the risk function past the size limit. The runtime's copy lags PyPI by weeks;
the calls we make (DynamoDB, SQS, Secrets Manager) are long stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.paths import LAYER_BUILD_DIR, REPO_ROOT

# The Lambda runtime and every layer's wheels must agree: cp312 + aarch64 (Graviton is ~20% cheaper).
# Bump together with `DEFAULT_PYTHON_VERSION` in layers/talib/build.py (a test checks they agree).
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_ARCHITECTURE = "aarch64"
# Amazon Linux 2023 (the 3.12+ runtimes) has glibc 2.34. pip does not widen `manylinux_2_X` platforms the
# way it widens `manylinux2014`, so every accepted tag is listed.
MANYLINUX_PLATFORMS: tuple[str, ...] = ("manylinux2014_aarch64",) + tuple(
    f"manylinux_2_{minor}_aarch64" for minor in range(17, 35)
)


@dataclass(frozen=True)
class LayerSpec:
    name: str
    description: str
    # Distribution names (extras allowed) whose exact pins are read from pyproject.toml.
    requirements: tuple[str, ...]
    functions: tuple[str, ...]
    include_tradepipe: bool = False
    # A dedicated build script (relative to the repo) instead of the generic pip install.
    build_script: str | None = None

    @property
    def build_dir(self) -> Path:
        return LAYER_BUILD_DIR / self.name

    def is_built(self) -> bool:
        python_dir = self.build_dir / "python"
        return python_dir.is_dir() and any(python_dir.iterdir())


CORE_LAYER = LayerSpec(
    name="core",
    description="tradepipe package + pydantic, Powertools (boto3 from the runtime)",
    requirements=("pydantic", "aws-lambda-powertools[tracer]"),
    functions=("webhook", "risk", "executor", "indexer", "notifier"),
    include_tradepipe=True,
)
DATA_LAYER = LayerSpec(
    name="data",
    description="numpy + pandas, shared by the risk function (TA-Lib) and both alpaca-py users",
    requirements=("numpy", "pandas"),
    functions=("risk", "executor"),
)
TALIB_LAYER = LayerSpec(
    name="talib",
    description="TA-Lib (binary wheel, C library inside), for the risk function's ATR",
    requirements=("ta-lib", "numpy", "pandas"),
    functions=("risk",),
    build_script="layers/talib/build.py",
)
BROKER_LAYER = LayerSpec(
    name="broker",
    description="alpaca-py and its dependencies but pandas/numpy (data layer), pycurl for its reads and "
    "orders: risk (account, clock, bars) and executor (orders)",
    requirements=("alpaca-py", "pycurl"),
    functions=("risk", "executor"),
)
SEARCH_LAYER = LayerSpec(
    name="search",
    description="opensearch-py (its own SigV4 signer over the runtime's botocore), for the indexer",
    requirements=("opensearch-py",),
    functions=("indexer",),
)
# Order matters: a layer never ships what an earlier layer of every one of its functions already ships
# (build_layers.dedupe), and Lambda unpacks a function's layers in this order.
LAYERS: tuple[LayerSpec, ...] = (CORE_LAYER, DATA_LAYER, TALIB_LAYER, BROKER_LAYER, SEARCH_LAYER)
# Lambda allows five layers per function.
MAX_LAYERS_PER_FUNCTION = 5


def layers_for(function_name: str) -> tuple[LayerSpec, ...]:
    return tuple(spec for spec in LAYERS if function_name in spec.functions)


def relative(path: Path) -> str:
    """A repo-relative path for messages, so they read the same on every machine."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
