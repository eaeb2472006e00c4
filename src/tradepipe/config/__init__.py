"""Versioned configuration shipped with the package: `risk.toml` holds the risk profiles."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tradepipe.domain.risk.profile import RiskConfig, load_risk_config


def risk_config_text(path: str | None = None) -> str:
    """The bundled risk.toml, or the file at `path` (TRADEPIPE_RISK_CONFIG_PATH)."""
    if path:
        return Path(path).read_text()
    return (resources.files("tradepipe.config") / "risk.toml").read_text()


def load_bundled_risk_config(path: str | None = None) -> RiskConfig:
    """Parse and validate; raises (naming the field) on a bad file, so a bad config never trades."""
    return load_risk_config(risk_config_text(path))
