"""Reports: one self-contained HTML file (Plotly, its JavaScript embedded) and mplfinance PNGs.

The entry points import Plotly, pandas and mplfinance only when called, so importing this package is cheap.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradepipe.ports.search import SearchIndex
    from tradepipe.settings import Settings

log = logging.getLogger(__name__)


def write_records_report(
    settings: Settings,
    output: Path,
    png_dir: Path | None = None,
    search: SearchIndex | None = None,
    initial_equity: Decimal = Decimal(100_000),
) -> Path:
    """The report of what a stage recorded (fills, orders, signals in DynamoDB at the settings' endpoint);
    with `search`, also index the daily performance snapshots (failures are logged, not raised: the report
    is the product). Returns the report's path."""
    from tradepipe.analytics.report.build import write_records_report as write

    path, failed = write(settings, output, png_dir=png_dir, search=search, initial_equity=initial_equity)
    if failed:
        log.warning("%d performance snapshots failed to index, e.g. %s", len(failed), failed[0])
    return path
