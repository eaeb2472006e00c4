"""`make demo` as the user runs it: a separate process on free ports, its summary, its report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_settles_every_alert_moves_the_market_and_writes_its_report(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603
        # The demo's default broker: the Alpaca behaviour (asynchronous fills and cancels, 200 requests a
        # minute), its market always open.
        [sys.executable, "-m", "tradepipe.cli", "demo", "--ephemeral", "--no-hold"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out = done.stdout

    assert done.returncode == 0, out + done.stderr
    assert "result: every signal accounted for" in out
    assert re.search(r"server errors \(5xx\)\s+0\n", out)
    assert re.search(r"not settled\s+0\n", out)
    assert re.search(r"live page    http://127\.0\.0\.1:\d+/#token=", out)
    # The market moved through a bracket's leg and the reconciler recorded the exit.
    assert re.search(r"-> \d+\.\d\d \((take-profit|stop) leg\)", out)
    report = tmp_path / ".tradepipe" / "demo" / "demo-report.html"
    assert f"report: {report}" in out
    html = report.read_text()
    assert "plotly" in html.lower()
    assert "Realized P&amp;L" in html or "Realized P&L" in html
