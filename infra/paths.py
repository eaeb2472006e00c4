"""Filesystem locations the CDK app and the layer builders share. Nothing here needs git or AWS."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = REPO_ROOT / "cdk.json"
PYPROJECT = REPO_ROOT / "pyproject.toml"
SRC_DIR = REPO_ROOT / "src"
FUNCTIONS_DIR = REPO_ROOT / "functions"
# `make layers` writes each layer to build/layers/<name>/python/...; build/ is git-ignored.
LAYER_BUILD_DIR = REPO_ROOT / "build" / "layers"
# Committed stand-in used when a layer is not built, so synth and tests never need pip or a network.
LAYER_PLACEHOLDER_DIR = REPO_ROOT / "infra" / "assets" / "layer-placeholder"
