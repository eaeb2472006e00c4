"""`make layers`: build the Lambda layers of infra/layer_specs.py into build/layers/<name>/python.

    python infra/build_layers.py [core data talib broker search] [--force]

No Docker: pip installs binary wheels for Lambda's CPU and Python (`--platform ... --only-binary=:all:`).
Pins come from pyproject.toml. The talib layer is delegated to layers/talib/build.py (which also checks the
wheels' architecture). At the end every function's code and layers are summed against Lambda's 250 MB
limit. Needs PyPI; synth and the infra tests never run this (they fall back to a placeholder layer).

The same builder makes the layers for this machine's platform and Python (`BuildTarget.local`), from the
same specs, for `make check-packaging`, which imports and invokes every function with only its layers.

Layers overlap (pydantic is in core and is an alpaca-py dependency; pandas is in data and comes with
alpaca-py and ta-lib), and Lambda unpacks a function's layers into one /opt/python, later files over
earlier ones: two versions of one package would merge into a hybrid. So all requirements are resolved
together first into <root>/constraints.txt, every layer installs under those constraints, and then a layer
drops what an earlier layer of each of its functions already ships (`dedupe`).

A build is cached: <root>/.key holds a digest of the specs, their pins, the Python version and platforms;
an unchanged key skips pip and only refreshes the tradepipe package in the core layer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
# Same reason as in infra/app.py: keep infra/ (and its `constructs` package) off the front of sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO / "infra"]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from infra import layer_specs  # noqa: E402 - sys.path must be fixed first
from infra.layer_specs import (  # noqa: E402
    CORE_LAYER,
    LAMBDA_PYTHON_VERSION,
    LAYERS,
    MANYLINUX_PLATFORMS,
    LayerSpec,
    layers_for,
    relative,
)
from infra.paths import FUNCTIONS_DIR, PYPROJECT, SRC_DIR  # noqa: E402
from tradepipe import resources  # noqa: E402

# The Lambda runtime provides these; transitive installs (aws-xray-sdk pulls botocore) are removed again.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Not shipped: the embedded local stack (moto, starlette) never runs on Lambda.
TRADEPIPE_EXCLUDES = ("__pycache__", "*.pyc", "local")
STRIP_DIRS = ("tests", "__pycache__")
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
_BUILDERS = (Path(__file__), _REPO / "layers" / "talib" / "build.py")


@dataclass(frozen=True)
class BuildTarget:
    """Which interpreter and platform the wheels are for, and where the layers go (<root>/<name>/python)."""

    python_version: str
    platforms: tuple[str, ...]
    root: Path

    @classmethod
    def lambda_arm64(cls) -> BuildTarget:
        # Read at call time: the infra tests point LAYER_BUILD_DIR elsewhere.
        return cls(LAMBDA_PYTHON_VERSION, MANYLINUX_PLATFORMS, layer_specs.LAYER_BUILD_DIR)  # type: ignore[attr-defined]

    @classmethod
    def local(cls, python_version: str, root: Path) -> BuildTarget:
        """This machine's CPU and glibc: the wheels the packaging check can import here."""
        machine = platform.machine()
        _, glibc = platform.libc_ver()
        newest = int(glibc.split(".")[1]) if glibc.startswith("2.") else 17
        tags = (f"manylinux2014_{machine}",) + tuple(
            f"manylinux_2_{minor}_{machine}" for minor in range(17, newest + 1)
        )
        return cls(python_version, tags, root)

    def layer_dir(self, spec: LayerSpec) -> Path:
        return self.root / spec.name

    @property
    def constraints(self) -> Path:
        return self.root / "constraints.txt"

    def key(self) -> str:
        """Digest of what decides the installed files: specs, pins, Python, platforms, the builders."""
        material = {
            "layers": [
                [spec.name, list(spec.requirements), list(spec.functions), spec.build_script, pinned(spec)]
                for spec in LAYERS
            ],
            "python": self.python_version,
            "platforms": list(self.platforms),
            "builders": [hashlib.sha256(path.read_bytes()).hexdigest() for path in _BUILDERS],
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]

    def is_current(self) -> bool:
        stamp = self.root / ".key"
        return (
            stamp.is_file()
            and stamp.read_text(encoding="utf-8").strip() == self.key()
            and all((self.layer_dir(spec) / "python").is_dir() for spec in LAYERS)
        )


def find_python(version: str) -> str:
    """An interpreter of Lambda's Python version if this machine has one (PATH, then pyenv), else ours.
    Each candidate is run once: a pyenv shim on PATH may name a version that is not active."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    for candidate in candidates:
        if candidate and python_version_of(candidate) == version:
            return candidate
    return sys.executable


def python_version_of(python: str) -> str | None:
    out = subprocess.run(  # noqa: S603 - an interpreter path we chose
        [python, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=False,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def compile_bytecode(target: BuildTarget) -> str:
    """Ship .pyc files, compiled by an interpreter of the target's version (bytecode is per minor version,
    not per CPU). Lambda's /opt is read-only, so without them every cold start compiles every module it
    imports (measured here: the risk function's import takes ~5 s from source, ~1 s from bytecode).
    `unchecked-hash`: valid whatever the file times (CDK's asset zips do not keep them)."""
    python = find_python(target.python_version)
    if python_version_of(python) != target.python_version:
        return f"no Python {target.python_version} here: layers ship without bytecode (slower cold starts)"
    directories = [str(target.layer_dir(spec) / "python") for spec in LAYERS]
    command = [
        python,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        *directories,
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our paths
    return f"bytecode compiled by {python}"


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


def _pip_args(target: BuildTarget) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile", "--no-warn-conflicts",
        "--implementation", "cp",
        "--python-version", target.python_version,
        "--only-binary=:all:",
        *(f"--platform={tag}" for tag in target.platforms),
    ]  # fmt: skip


def resolve_constraints(target: BuildTarget) -> Path:
    """Resolve every layer's requirements together; write the result as pip constraints."""
    requirements = [req for spec in LAYERS for req in pinned(spec)]
    target.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [
            *_pip_args(target), "--dry-run", "--ignore-installed", "--report", str(report),
            "--target", str(Path(scratch) / "target"), *requirements,
        ]  # fmt: skip
        subprocess.run(command, check=True)  # noqa: S603 - constants and pyproject pins only
        resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    lines = sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in resolved)
    target.constraints.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target.constraints


def _strip(python_dir: Path) -> None:
    for name in STRIP_DIRS:
        for path in sorted(python_dir.rglob(name), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
    shutil.rmtree(python_dir / "bin", ignore_errors=True)
    for package in RUNTIME_PROVIDED:
        shutil.rmtree(python_dir / package, ignore_errors=True)
        for dist_info in python_dir.glob(f"{package}-*.dist-info"):
            shutil.rmtree(dist_info)


def build(spec: LayerSpec, target: BuildTarget) -> None:
    out = target.layer_dir(spec)
    if spec.build_script:
        command = [
            sys.executable, str(_REPO / spec.build_script), "--out", str(out),
            "--python-version", target.python_version, "--constraint", str(target.constraints),
        ]  # fmt: skip
        if target.platforms != MANYLINUX_PLATFORMS:
            command += [f"--platform={tag}" for tag in target.platforms]
        subprocess.run(command, check=True)  # noqa: S603 - our own script
        _strip(out / "python")
        return
    python_dir = out / "python"
    shutil.rmtree(out, ignore_errors=True)
    python_dir.mkdir(parents=True)
    command = [
        *_pip_args(target), "--target", str(python_dir), "--constraint", str(target.constraints),
        *pinned(spec),
    ]  # fmt: skip
    subprocess.run(command, check=True)  # noqa: S603 - constants and pyproject pins only
    _strip(python_dir)


def dedupe(target: BuildTarget) -> None:
    """Drop from each layer what an earlier layer already ships to every function it is attached to.

    Safe because the shared constraints gave both copies the same version; it saves space (pandas once,
    not three times, for the risk function) and keeps one copy per package in each function's /opt."""
    for index, spec in enumerate(LAYERS):
        python_dir = target.layer_dir(spec) / "python"
        if not python_dir.is_dir():
            continue
        earlier = LAYERS[:index]
        for entry in list(python_dir.iterdir()):
            if all(
                any(
                    function in other.functions and (target.layer_dir(other) / "python" / entry.name).exists()
                    for other in earlier
                )
                for function in spec.functions
            ):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def refresh_tradepipe(target: BuildTarget) -> None:
    """The package under development goes into the core layer on every run (a copy costs a second)."""
    destination = target.layer_dir(CORE_LAYER) / "python" / "tradepipe"
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(SRC_DIR / "tradepipe", destination, ignore=shutil.ignore_patterns(*TRADEPIPE_EXCLUDES))


def build_all(target: BuildTarget, names: list[str] | None = None, force: bool = False) -> bool:
    """Build (or reuse) the layers for `target`. Returns True when pip ran."""
    stamp = target.root / ".key"
    if not names and not force and target.is_current():
        refresh_tradepipe(target)
        compile_bytecode(target)
        return False
    stamp.unlink(missing_ok=True)
    resolve_constraints(target)
    for spec in LAYERS:
        if not names or spec.name in names:
            print(f"building {spec.name} -> {relative(target.layer_dir(spec))}", flush=True)
            build(spec, target)
    dedupe(target)
    refresh_tradepipe(target)
    print(compile_bytecode(target), flush=True)
    if all((target.layer_dir(spec) / "python").is_dir() for spec in LAYERS):
        stamp.write_text(target.key() + "\n", encoding="utf-8")
    return True


def tree_size(path: Path, bytecode: bool = True) -> int:
    """Unzipped bytes; a layer's bytecode ships, a function asset's does not (ASSET_EXCLUDES)."""
    if not path.is_dir():
        return 0
    return sum(
        p.stat().st_size
        for p in path.rglob("*")
        if p.is_file() and (bytecode or "__pycache__" not in p.parts)
    )


@dataclass(frozen=True)
class FunctionSize:
    function: str
    layers: tuple[str, ...]
    total_bytes: int

    @property
    def over_limit(self) -> bool:
        return self.total_bytes > LAMBDA_UNZIPPED_LIMIT_BYTES

    def line(self) -> str:
        verdict = "over the 250 MB limit" if self.over_limit else "ok"
        return (
            f"{self.function:<9} {self.total_bytes / 2**20:6.1f} MiB unzipped "
            f"(code + {' + '.join(self.layers)}) of 250: {verdict}"
        )


def function_sizes(target: BuildTarget) -> list[FunctionSize]:
    """Unzipped code + layers per function: what Lambda compares with its 250 MB limit."""
    return [
        FunctionSize(
            function.name,
            tuple(spec.name for spec in layers_for(function.name)),
            tree_size(FUNCTIONS_DIR / function.code_dir, bytecode=False)
            + sum(tree_size(target.layer_dir(spec)) for spec in layers_for(function.name)),
        )
        for function in resources.FUNCTIONS
    ]


def main(argv: list[str] | None = None) -> int:
    names = [spec.name for spec in LAYERS]
    parser = argparse.ArgumentParser(description="Build the Lambda layers (aarch64 wheels, no Docker).")
    parser.add_argument("layers", nargs="*", metavar="LAYER", help=f"default: all of {names}")
    parser.add_argument("--force", action="store_true", help="rebuild even if the cached build is current")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.layers) - set(names))
    if unknown:
        parser.error(f"unknown layers {unknown}; choose from {names}")
    target = BuildTarget.lambda_arm64()
    if not build_all(target, args.layers, args.force):
        print(f"layers current in {relative(target.root)} (key {target.key()}); tradepipe refreshed")
    sizes = function_sizes(target)
    for size in sizes:
        print(size.line())
    over = [size.function for size in sizes if size.over_limit]
    if over:
        print(f"over Lambda's 250 MB unzipped limit: {over}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
