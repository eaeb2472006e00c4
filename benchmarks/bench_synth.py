"""`make synth` from a fresh clone: the CDK app synthesized (cdk-nag on) in a new checkout with no cdk.out.

Each run clones the repository's HEAD into a temporary directory and times `python infra/app.py` there, for
each stage, with this checkout's virtualenv (installing is not part of synth). The first run includes the
jsii runtime's start and the module imports, which is what a developer waits for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._timing import Timing

REPO = Path(__file__).resolve().parents[1]
RUNS = 3


def _synth_once(stage: str) -> float:
    with tempfile.TemporaryDirectory(prefix="tradepipe-synth-") as tmp:
        clone = Path(tmp) / "tradepipe"
        subprocess.run(  # noqa: S603
            ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)],  # noqa: S607
            check=True,
        )
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        started = time.perf_counter()
        subprocess.run(  # noqa: S603
            [sys.executable, "infra/app.py", "-c", f"stage={stage}"],
            cwd=clone,
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - started
        if not (clone / "cdk.out" / f"tradepipe-{stage}.template.json").is_file():
            raise RuntimeError(f"synth of {stage} wrote no template")
        return elapsed


def run() -> list[Timing]:
    return [
        Timing(f"make synth, fresh clone ({stage})", [_synth_once(stage) for _ in range(RUNS)])
        for stage in ("dev", "prod")
    ]


def line(timing: Timing) -> str:
    return (
        f"{timing.name:<44} n={len(timing.samples_s):>6}  p50={timing.percentile(50):8.2f} s   "
        f"p99={timing.percentile(99):8.2f} s   max={max(timing.samples_s):6.2f} s"
    )
