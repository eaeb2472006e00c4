"""Check that a built TA-Lib layer targets Lambda arm64 / CPython 3.12.

The layer cannot be imported here (its .so files are aarch64, this machine is x86_64), so the check reads
what the files say about themselves: each wheel's `dist-info/WHEEL` tags, the ELF header of every shared
object, and the ABI tag in extension module names. Usage:

    python layers/talib/check.py [build/layers/talib/python] [--python-version 3.12]

Exit status 0 when the layer is fit for Lambda, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LAYER_DIR = REPO_ROOT / "build" / "layers" / "talib" / "python"
DEFAULT_PYTHON_VERSION = "3.12"
REQUIRED_PACKAGES = ("talib", "numpy", "pandas")
# Lambda's limit is 250 MB unzipped for a function and all its layers together.
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183
ELF_MACHINES = {3: "x86", 40: "arm", 62: "x86_64", 183: "aarch64"}
# e.g. _ta_lib.cpython-312-aarch64-linux-gnu.so
EXTENSION_ABI = re.compile(r"\.cpython-(?P<version>\d+)-(?P<platform>[a-z0-9_]+)-linux-gnu\.so$")


def elf_machine(path: Path) -> int | None:
    """The ELF e_machine of `path`, or None if it is not an ELF file."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or not header.startswith(ELF_MAGIC):
        return None
    byteorder: Literal["little", "big"] = "little" if header[5] == 1 else "big"  # EI_DATA
    return int.from_bytes(header[18:20], byteorder)


def wheel_tags(dist_info: Path) -> list[str]:
    wheel = dist_info / "WHEEL"
    if not wheel.is_file():
        return []
    return [
        line.split(":", 1)[1].strip()
        for line in wheel.read_text(encoding="utf-8").splitlines()
        if line.startswith("Tag:")
    ]


def _tag_fits(tag: str, cp: str) -> bool:
    """True if a wheel tag runs on CPython `cp` (e.g. "cp312") on aarch64 Linux, or is pure Python."""
    interpreter, abi, platform = tag.split("-", 2)
    if platform == "any":
        return True
    if "aarch64" not in platform or not platform.startswith("manylinux"):
        return False
    if abi == "abi3":  # stable ABI: built for this minor version or an older one
        return interpreter.startswith("cp3") and int(interpreter[2:]) <= int(cp[2:])
    return interpreter == cp and abi == cp


def _shared_objects(root: Path) -> Iterable[Path]:
    for path in root.rglob("*"):
        if path.is_file() and (path.suffix == ".so" or ".so." in path.name):
            yield path


def check_layer(python_dir: Path, python_version: str = DEFAULT_PYTHON_VERSION) -> list[str]:
    """Problems that would stop the layer from loading on Lambda arm64 with this Python; [] if none."""
    if not python_dir.is_dir():
        return [f"{python_dir} does not exist: build the layer first (make layers)"]
    cp = "cp" + python_version.replace(".", "")
    problems = [
        f"package {package!r} is missing from {python_dir}"
        for package in REQUIRED_PACKAGES
        if not (python_dir / package / "__init__.py").is_file()
    ]
    problems += _wheel_problems(python_dir, cp)
    problems += _binary_problems(python_dir, cp)
    size = layer_size(python_dir)
    if size > LAMBDA_UNZIPPED_LIMIT_BYTES:
        problems.append(f"layer is {size / 2**20:.0f} MB unzipped, over Lambda's 250 MB limit on its own")
    return problems


def _wheel_problems(python_dir: Path, cp: str) -> list[str]:
    """What each installed wheel's tags say: built for this CPython on manylinux aarch64, or pure Python."""
    problems = []
    dist_infos = sorted(python_dir.glob("*.dist-info"))
    if not any(d.name.lower().startswith("ta_lib-") for d in dist_infos):
        problems.append("no ta_lib-*.dist-info: ta-lib was not installed from a wheel")
    for dist_info in dist_infos:
        tags = wheel_tags(dist_info)
        if not tags:
            problems.append(f"{dist_info.name}: no WHEEL tags (installed from an sdist?)")
        elif not any(_tag_fits(tag, cp) for tag in tags):
            problems.append(f"{dist_info.name}: wheel tags {tags} do not fit {cp} on manylinux aarch64")
        elif dist_info.name.lower().startswith("ta_lib-") and all(t.endswith("-any") for t in tags):
            problems.append(f"{dist_info.name}: a pure-Python wheel cannot carry the TA-Lib C library")
    return problems


def _binary_problems(python_dir: Path, cp: str) -> list[str]:
    """What the shared objects say: ELF machine aarch64, extension modules named for this CPython."""
    problems = []
    for path in _shared_objects(python_dir):
        relative = path.relative_to(python_dir)
        machine = elf_machine(path)
        if machine is not None and machine != EM_AARCH64:
            problems.append(f"{relative}: ELF machine {ELF_MACHINES.get(machine, machine)}, expected aarch64")
        match = EXTENSION_ABI.search(path.name)
        if match and (match["version"] != cp[2:] or match["platform"] != "aarch64"):
            problems.append(f"{relative}: extension built for cpython-{match['version']}-{match['platform']}")
    return problems


def layer_size(python_dir: Path) -> int:
    return sum(p.stat().st_size for p in python_dir.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("python_dir", nargs="?", type=Path, default=DEFAULT_LAYER_DIR)
    parser.add_argument("--python-version", default=DEFAULT_PYTHON_VERSION)
    args = parser.parse_args(argv)
    problems = check_layer(args.python_dir, args.python_version)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"OK {args.python_dir}: aarch64 / cp{args.python_version.replace('.', '')}, "
        f"{layer_size(args.python_dir) / 2**20:.0f} MB unzipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
