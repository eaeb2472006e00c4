"""layers/talib: the checker judges a built layer by its files (no aarch64 import on this machine), and the
build scripts agree with the Lambda runtime. Nothing here downloads or builds a layer."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from types import ModuleType

import pytest

from infra import layer_specs

TALIB_DIR = Path(__file__).resolve().parents[2] / "layers" / "talib"
EM_X86_64 = 62


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"talib_layer_{name}", TALIB_DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load("check")
build = _load("build")


def _elf(machine: int) -> bytes:
    # e_ident: magic, 64-bit, little-endian, version 1; then e_type (shared object) and e_machine.
    return b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 3, machine) + bytes(44)


def _fake_layer(root: Path, *, machine: int = 183, tag: str = "cp312-cp312-manylinux_2_28_aarch64") -> Path:
    python = root / "python"
    for package in ("talib", "numpy", "pandas"):
        (python / package).mkdir(parents=True)
        (python / package / "__init__.py").write_text("")
    (python / "talib" / "_ta_lib.cpython-312-aarch64-linux-gnu.so").write_bytes(_elf(machine))
    (python / "ta_lib.libs").mkdir()
    (python / "ta_lib.libs" / "libta-lib-0123abcd.so.0.6.4").write_bytes(_elf(machine))
    for dist in ("ta_lib-0.8.2", "numpy-2.4.6", "pandas-3.1.1"):
        (python / f"{dist}.dist-info").mkdir()
        (python / f"{dist}.dist-info" / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {tag}\n")
    return python


def test_check_layer_when_aarch64_cp312_wheels_then_no_problems(tmp_path: Path) -> None:
    assert check.check_layer(_fake_layer(tmp_path), "3.12") == []


def test_check_layer_when_x86_64_binaries_then_each_is_named(tmp_path: Path) -> None:
    problems = check.check_layer(_fake_layer(tmp_path, machine=EM_X86_64), "3.12")

    assert len(problems) == 2
    assert all("x86_64, expected aarch64" in problem for problem in problems)


def test_check_layer_when_wheel_built_for_other_python_then_problem(tmp_path: Path) -> None:
    problems = check.check_layer(_fake_layer(tmp_path, tag="cp313-cp313-manylinux_2_28_aarch64"), "3.12")

    assert any("do not fit cp312" in problem for problem in problems)


def test_check_layer_when_runtime_is_another_python_then_extension_names_disagree(tmp_path: Path) -> None:
    problems = check.check_layer(_fake_layer(tmp_path), "3.13")

    assert any("extension built for cpython-312-aarch64" in problem for problem in problems)


def test_check_layer_when_not_built_then_says_make_layers(tmp_path: Path) -> None:
    assert check.check_layer(tmp_path / "absent") == [
        f"{tmp_path / 'absent'} does not exist: build the layer first (make layers)"
    ]


def test_check_main_exit_status(tmp_path: Path) -> None:
    assert check.main([str(_fake_layer(tmp_path))]) == 0
    assert check.main([str(tmp_path / "absent")]) == 1


def test_talib_build_targets_the_lambda_runtime_and_platforms() -> None:
    assert build.DEFAULT_PYTHON_VERSION == layer_specs.LAMBDA_PYTHON_VERSION
    assert check.DEFAULT_PYTHON_VERSION == layer_specs.LAMBDA_PYTHON_VERSION
    assert build.PLATFORMS == layer_specs.MANYLINUX_PLATFORMS


def test_talib_build_pins_come_from_pyproject() -> None:
    assert build.pinned_requirements(build.PACKAGES) == ["ta-lib==0.8.2", "numpy==2.4.6", "pandas==3.1.1"]


def test_talib_build_pip_command_is_binary_only_for_aarch64(tmp_path: Path) -> None:
    command = build.pip_command(tmp_path, ["ta-lib==0.8.2"], "3.12")

    assert "--only-binary=:all:" in command
    assert "--platform=manylinux_2_28_aarch64" in command
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--target") + 1] == str(tmp_path)


@pytest.mark.parametrize("layer", layer_specs.LAYERS, ids=lambda spec: spec.name)
def test_every_layer_requirement_has_an_exact_pin(layer: layer_specs.LayerSpec) -> None:
    from infra import build_layers

    assert all("==" in requirement for requirement in build_layers.pinned(layer))
