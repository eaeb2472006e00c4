"""Build the TA-Lib Lambda layer without Docker: binary wheels for Lambda's CPU and Python, then check them.

    python layers/talib/build.py [--out build/layers/talib] [--python-version 3.12]

ta-lib 0.8.2 ships manylinux wheels with the TA-Lib C library inside, so nothing is compiled: pip fetches
the aarch64 / cp312 wheels of ta-lib, numpy and pandas (pins from pyproject's `analytics` extra) into
<out>/python, test suites are dropped, and check.py verifies the result.
Needs network access to PyPI; `make synth` and the tests never call this.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECK_SCRIPT = Path(__file__).resolve().with_name("check.py")
DEFAULT_OUT = REPO_ROOT / "build" / "layers" / "talib"
# Must match the Lambda runtime (infra/layer_specs.py LAMBDA_PYTHON_VERSION; a test checks they agree).
DEFAULT_PYTHON_VERSION = "3.12"
PACKAGES = ("ta-lib", "numpy", "pandas")
# pip does not widen `manylinux_2_X` the way it widens manylinux2014, so list every glibc up to Amazon
# Linux 2023's 2.34 (numpy and pandas publish manylinux_2_27/2_28 aarch64 wheels only).
PLATFORMS = ("manylinux2014_aarch64",) + tuple(f"manylinux_2_{minor}_aarch64" for minor in range(17, 35))
# Directories no Lambda import reaches.
STRIP_DIRS = ("tests", "__pycache__")


def pinned_requirements(names: Iterable[str], pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """`name==version` for each name, read from pyproject's analytics extra (the one place pins live)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared = project["optional-dependencies"]["analytics"]
    by_name = {re.split(r"[\[=<>!~ ;]", req, maxsplit=1)[0].lower(): req for req in declared}
    missing = [name for name in names if name.lower() not in by_name]
    if missing:
        raise SystemExit(f"pyproject.toml [analytics] does not pin {missing}")
    unpinned = [by_name[n.lower()] for n in names if "==" not in by_name[n.lower()]]
    if unpinned:
        raise SystemExit(f"layer requirements must be exact pins: {unpinned}")
    return [by_name[name.lower()] for name in names]


def pip_command(
    target: Path,
    requirements: list[str],
    python_version: str,
    constraint: Path | None = None,
    platforms: tuple[str, ...] = PLATFORMS,
) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile", "--no-warn-conflicts",
        "--target", str(target),
        "--implementation", "cp",
        "--python-version", python_version,
        "--only-binary=:all:",
        *(f"--platform={platform}" for platform in platforms),
        *(["--constraint", str(constraint)] if constraint else []),
        *requirements,
    ]  # fmt: skip


def strip(target: Path) -> None:
    for name in STRIP_DIRS:
        for path in sorted(target.rglob(name), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts (f2py) for the wrong machine


def build(
    out: Path, python_version: str, constraint: Path | None = None, platforms: tuple[str, ...] = PLATFORMS
) -> Path:
    target = out / "python"
    shutil.rmtree(out, ignore_errors=True)
    target.mkdir(parents=True)
    command = pip_command(target, pinned_requirements(PACKAGES), python_version, constraint, platforms)
    # S603: the command is built from constants and pyproject pins, never from outside input.
    subprocess.run(command, check=True)  # noqa: S603
    strip(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the TA-Lib Lambda layer (aarch64, no Docker).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--python-version", default=DEFAULT_PYTHON_VERSION)
    parser.add_argument(
        "--constraint", type=Path, help="pip constraints shared with the other layers (infra/build_layers.py)"
    )
    parser.add_argument(
        "--platform",
        action="append",
        help="pip platform tag (repeatable); default: Lambda's aarch64 tags. The packaging check builds the "
        "same layer for this machine's platform, where the aarch64 file check does not apply.",
    )
    args = parser.parse_args(argv)
    platforms = tuple(args.platform) if args.platform else PLATFORMS
    target = build(args.out, args.python_version, args.constraint, platforms)
    if platforms != PLATFORMS:
        return 0
    # S603: our own script with our own arguments.
    checked = subprocess.run(  # noqa: S603
        [sys.executable, str(CHECK_SCRIPT), str(target), "--python-version", args.python_version], check=False
    )
    return checked.returncode


if __name__ == "__main__":
    sys.exit(main())
