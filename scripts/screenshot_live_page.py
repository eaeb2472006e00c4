"""Render docs/live-page.png: the single-machine runtime on free ports (a scratch state directory), the
bundled demo alerts, then the live page in headless Chromium (Debian's /usr/bin/chromium) with a filled
signal's trail open.

    .venv/bin/python scripts/screenshot_live_page.py [--out docs/live-page.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tradepipe.local.demo import run_demo
from tradepipe.local.runtime.supervisor import LocalConfig, Supervisor

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("TRADEPIPE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "live-page.png")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="tradepipe-screenshot-")) / "state"
    with Supervisor(LocalConfig.ephemeral(state, log_level="ERROR", always_open=True)) as stack:
        report = run_demo(stack, timeout_s=90)
        if not report.ok:
            sys.stderr.write(report.render() + "\n")
            return 1
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
            page.goto(stack.page_url)
            filled = page.locator('#signal-rows tr[data-status="FILLED"]').first
            expect(filled).to_be_visible(timeout=10_000)
            filled.click()
            expect(page.locator("#trail-order-rows tr").first).to_be_visible(timeout=5_000)
            # Two portfolio polls, so the equity line has points, and charts drawn.
            expect(page.locator("#chart-positions .bars path").first).to_be_attached(timeout=10_000)
            page.wait_for_timeout(3_500)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    sys.stdout.write(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
