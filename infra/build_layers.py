"""`make layers`: build the Lambda layers of infra/layer_specs.py into build/layers/<name>/python.

    python infra/build_layers.py [core talib broker search] [--python-version 3.12]

No Docker: pip installs binary wheels for Lambda's CPU and Python (`--platform ... --only-binary=:all:`).
Pins come from pyproject.toml. The talib layer is delegated to layers/talib/build.py (which also checks the
wheels' architecture). At the end every function's layers are summed against Lambda's 250 MB limit.
Needs network access to PyPI; synth and tests never run this (they fall back to a placeholder layer).

Layers overlap (pydantic is in core and is an alpaca-py dependency; python-dateutil comes with pandas and
botocore), and Lambda unpacks a function's layers into one /opt/python, later files over earlier ones: two
versions of one package would merge into a hybrid. So all requirements are resolved together first into
build/layers/constraints.txt, every layer installs under those constraints, and packages the core layer
already has are then removed from the other layers.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
# Same reason as in infra/app.py: keep infra/ (and its `constructs` package) off the front of sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO / "infra"]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from infra.layer_specs import (  # noqa: E402 - sys.path must be fixed first
    CORE_LAYER,
    LAMBDA_PYTHON_VERSION,
    LAYERS,
    MANYLINUX_PLATFORMS,
    LayerSpec,
    layers_for,
    relative,
)
from infra.paths import LAYER_BUILD_DIR, PYPROJECT, SRC_DIR  # noqa: E402
from tradepipe import resources  # noqa: E402

# The Lambda runtime provides these; transitive installs (aws-xray-sdk pulls botocore) are removed again.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Not shipped: the embedded local stack (moto, starlette) never runs on Lambda.
TRADEPIPE_EXCLUDES = ("__pycache__", "*.pyc", "local")
STRIP_DIRS = ("tests", "__pycache__")
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
CONSTRAINTS = LAYER_BUILD_DIR / "constraints.txt"


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def pinned(spec: LayerSpec) -> list[str]:
    """Exact pins for the spec's requirements, from pyproject's dependencies and extras."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared.extend(req for req in extra if not req.startswith("tradepipe["))
    by_name = {_name(req): req for req in declared}
    result = []
    for requirement in spec.requirements:
        found = by_name.get(_name(requirement))
        if found is None or "==" not in found:
            raise SystemExit(f"layer {spec.name!r}: pyproject.toml has no exact pin for {requirement!r}")
        result.append(found)
    return result


def _pip_args(python_version: str) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile", "--no-warn-conflicts",
        "--implementation", "cp",
        "--python-version", python_version,
        "--only-binary=:all:",
        *(f"--platform={platform}" for platform in MANYLINUX_PLATFORMS),
    ]  # fmt: skip


def resolve_constraints(specs: tuple[LayerSpec, ...], python_version: str) -> Path:
    """Resolve every layer's requirements together; write the result as pip constraints."""
    requirements = [req for spec in specs for req in pinned(spec)]
    CONSTRAINTS.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [
            *_pip_args(python_version), "--dry-run", "--ignore-installed", "--report", str(report),
            "--target", str(Path(scratch) / "target"), *requirements,
        ]  # fmt: skip
        subprocess.run(command, check=True)  # noqa: S603 - constants and pyproject pins only
        resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    lines = sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in resolved)
    CONSTRAINTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return CONSTRAINTS


def _pip_install(target: Path, requirements: list[str], python_version: str, constraints: Path) -> None:
    command = [
        *_pip_args(python_version),
        "--target",
        str(target),
        "--constraint",
        str(constraints),
        *requirements,
    ]
    subprocess.run(command, check=True)  # noqa: S603 - constants and pyproject pins only


def _strip(target: Path) -> None:
    for name in STRIP_DIRS:
        for path in sorted(target.rglob(name), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
    shutil.rmtree(target / "bin", ignore_errors=True)
    for package in RUNTIME_PROVIDED:
        shutil.rmtree(target / package, ignore_errors=True)
        for dist_info in target.glob(f"{package}-*.dist-info"):
            shutil.rmtree(dist_info)


def build(spec: LayerSpec, python_version: str, constraints: Path) -> None:
    if spec.build_script:
        script = _REPO / spec.build_script
        command = [
            sys.executable, str(script), "--out", str(spec.build_dir),
            "--python-version", python_version, "--constraint", str(constraints),
        ]  # fmt: skip
        subprocess.run(command, check=True)  # noqa: S603 - our own script
        return
    target = spec.build_dir / "python"
    shutil.rmtree(spec.build_dir, ignore_errors=True)
    target.mkdir(parents=True)
    _pip_install(target, pinned(spec), python_version, constraints)
    _strip(target)
    if spec.include_tradepipe:
        shutil.copytree(
            SRC_DIR / "tradepipe", target / "tradepipe", ignore=shutil.ignore_patterns(*TRADEPIPE_EXCLUDES)
        )


def dedupe_against_core() -> None:
    """Remove from the other layers what the core layer (attached to every function) already ships.

    Safe because the constraints gave both copies the same version; it only saves space.
    """
    core = CORE_LAYER.build_dir / "python"
    if not core.is_dir():
        return
    shipped = {entry.name for entry in core.iterdir()}
    for spec in LAYERS:
        target = spec.build_dir / "python"
        if spec is CORE_LAYER or not target.is_dir():
            continue
        for entry in target.iterdir():
            if entry.name in shipped:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def report_sizes() -> list[str]:
    """Print each function's unzipped layer total; return the functions over Lambda's limit."""
    over = []
    for function in resources.FUNCTIONS:
        specs = layers_for(function.name)
        total = sum(_size(spec.build_dir) for spec in specs)
        names = " + ".join(spec.name for spec in specs)
        print(f"{function.name:<9} {total / 2**20:6.0f} MB  ({names})")
        if total > LAMBDA_UNZIPPED_LIMIT_BYTES:
            over.append(function.name)
    return over


def main(argv: list[str] | None = None) -> int:
    names = [spec.name for spec in LAYERS]
    parser = argparse.ArgumentParser(description="Build the Lambda layers (aarch64 wheels, no Docker).")
    parser.add_argument("layers", nargs="*", metavar="LAYER", help=f"default: all of {names}")
    parser.add_argument("--python-version", default=LAMBDA_PYTHON_VERSION)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.layers) - set(names))
    if unknown:
        parser.error(f"unknown layers {unknown}; choose from {names}")
    args.layers = args.layers or names
    constraints = resolve_constraints(LAYERS, args.python_version)
    for spec in LAYERS:
        if spec.name in args.layers:
            print(f"building {spec.name} -> {relative(spec.build_dir)}")
            build(spec, args.python_version, constraints)
    dedupe_against_core()
    over = report_sizes()
    if over:
        print(f"over Lambda's 250 MB unzipped limit: {over}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
