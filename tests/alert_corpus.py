"""The alert corpus under tests/data/alerts (written by scripts/make_alert_corpus.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "alerts"


@dataclass(frozen=True)
class Case:
    file: str
    expect: int
    twin: str | None
    names: str | None
    content_type: str

    def body(self, passphrase: str, timenow: str) -> bytes:
        text = (CORPUS / "bodies" / self.file).read_text()
        return text.replace("{{passphrase}}", passphrase).replace("{{timenow}}", timenow).encode()


def cases() -> list[Case]:
    return [Case(**row) for row in json.loads((CORPUS / "index.json").read_text())]


def by_file() -> dict[str, Case]:
    return {case.file: case for case in cases()}


def answer_names(answer: dict[str, object], name: str) -> bool:
    """The 4xx answer names the problem: a field error on that field (or inside it)."""
    errors = answer.get("errors") or []
    assert isinstance(errors, list)
    return any(str(e["field"]) == name or str(e["field"]).startswith(name + ".") for e in errors)
