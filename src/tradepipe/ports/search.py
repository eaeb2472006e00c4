"""The search index documents are written to (OpenSearch), and the same domain as its master user sees it
at deploy time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class IndexAction:
    index: str
    doc_id: str
    document: Mapping[str, Any] | None  # None: delete


class SearchIndex(Protocol):
    def bulk(self, actions: Sequence[IndexAction]) -> list[str]:
        """Apply actions; returns `<index>/<doc_id>` of each action that failed (retryable)."""
        ...


class SearchAdmin(Protocol):
    """The domain as its master user sees it (security plugin API, templates)."""

    def put_security_role(self, name: str, body: dict[str, Any]) -> None: ...

    def put_role_mapping(self, name: str, body: dict[str, Any]) -> None: ...

    def index_patterns(self) -> list[str]: ...

    def ensure_templates(self) -> None: ...
