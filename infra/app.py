"""CDK entry point, run by `npx cdk synth|deploy` (see cdk.json) or directly by `make synth`.

Run directly (`python infra/app.py [-c stage=prod] [-c validate=true]`), it does what the CLI would: reads
cdk.json's context, applies `-c` overrides and writes the cloud assembly to cdk.out/. Under the CLI
(CDK_OUTDIR is set) the CLI supplies both. Neither needs AWS credentials, Docker or git.

Context keys:
- `stage`: a key of `tradepipe:stages` in cdk.json (default dev).
- `nag`: cdk-nag AwsSolutions checks, on unless `nag=false` (for debugging only). Any unacknowledged finding,
  warning or error, fails synth; acknowledgments sit next to their resource in infra/components/.
- `validate=true`: also run CDK's built-in CloudFormation validation when run directly. It costs ~5 s, so
  `make synth` and the infra tests skip it; under the CLI it follows the CLI (on unless --no-validation).
- `require_layers=true`: a layer not built by `make layers` is an error instead of a warning (for deploys).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
# Run as a script: add the repo root (for `infra.*`) and src/ (for `tradepipe`), so `npx cdk synth` works
# with any python3 that has aws-cdk-lib, editable install or not. (infra/components/ used to be called
# infra/constructs/ and shadowed the `constructs` library from the script's own directory.)
for _entry in (str(_REPO / "src"), str(_REPO)):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

import aws_cdk as cdk  # noqa: E402 - after the path entries above
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.config import STAGE_CONTEXT_KEY, STAGES_CONTEXT_KEY, ConfigError, load_stage_config  # noqa: E402
from infra.paths import CDK_JSON  # noqa: E402
from infra.stacks.tradepipe_stack import TradepipeStack  # noqa: E402
from tradepipe.config import load_bundled_risk_config  # noqa: E402

NAG_CONTEXT_KEY = "nag"
VALIDATE_CONTEXT_KEY = "validate"
REQUIRE_LAYERS_CONTEXT_KEY = "require_layers"
DEFAULT_OUTDIR = _REPO / "cdk.out"


def cdk_json_context() -> dict[str, Any]:
    context = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    if not isinstance(context, dict):
        raise ConfigError("cdk.json: `context` must be an object")
    return context


def _truthy(value: object) -> bool:
    # `-c validate=true` arrives as the string "true"; cdk.json may hold a real boolean.
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1", "yes"})


def _falsy(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.lower() in {"false", "0", "no"})


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None
) -> tuple[cdk.App, TradepipeStack]:
    """The app and its one stack. `context=None` means "as given by the CDK CLI"."""
    # The risk profiles ship inside the package: a bad file fails the deploy here, before anything trades.
    load_bundled_risk_config()
    app = cdk.App(
        context=context,
        outdir=outdir,
        builtin_cloud_formation_validation=None
        if context is None
        else _truthy(context.get(VALIDATE_CONTEXT_KEY)),
    )
    config = load_stage_config(
        {
            STAGES_CONTEXT_KEY: app.node.try_get_context(STAGES_CONTEXT_KEY),
            STAGE_CONTEXT_KEY: app.node.try_get_context(STAGE_CONTEXT_KEY),
        }
    )
    env = (
        cdk.Environment(account=config.account, region=config.region)
        if config.account or config.region
        else None
    )
    stack = TradepipeStack(
        app,
        f"tradepipe-{config.stage}",
        config=config,
        require_layers=_truthy(app.node.try_get_context(REQUIRE_LAYERS_CONTEXT_KEY)),
        env=env,
        description=f"tradepipe {config.stage}: TradingView alerts -> risk-sized Alpaca orders",
    )
    if not _falsy(app.node.try_get_context(NAG_CONTEXT_KEY)):
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def _parse_context_args(argv: list[str]) -> dict[str, str]:
    parser = argparse.ArgumentParser(description="Synthesize the tradepipe CDK app into cdk.out/.")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    pairs: dict[str, str] = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"-c expects KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def main(argv: list[str] | None = None) -> None:
    overrides = _parse_context_args(sys.argv[1:] if argv is None else argv)
    try:
        if "CDK_OUTDIR" in os.environ:
            app, _ = build_app()
        else:
            app, _ = build_app({**cdk_json_context(), **overrides}, outdir=str(DEFAULT_OUTDIR))
    except ConfigError as exc:
        sys.exit(f"tradepipe infra: {exc}")
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
        sys.exit(1)  # CDK has printed the validation report (what failed, how to acknowledge it)


if __name__ == "__main__":
    main()
