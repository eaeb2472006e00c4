"""How operator commands (`tradepipe status`, `signals`, `halt`, `reduce`, `resume`, `state`, `flatten`)
reach the running runtime: its operator URL from `<state-dir>/runtime.json`, its token from
`<state-dir>/operator.token`, both readable by the directory's owner only. `--api URL` points them at a
deployed stage's API Gateway instead, whose routes are IAM-authorized: requests are SigV4-signed with the
caller's AWS credentials (adapters/execute_api.py)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tradepipe.local.runtime.operator_api import TOKEN_HEADER
from tradepipe.local.runtime.state_dir import DEFAULT_STATE_DIR, StateDir


class RuntimeNotRunning(RuntimeError):
    pass


def operator_client(
    state_dir: Path | None = None, api: str | None = None, timeout: float = 10
) -> httpx.Client:
    if api:
        # A deployed stage: its routes are IAM-authorized, so every request is SigV4-signed.
        from tradepipe.adapters.execute_api import execute_api_auth

        return httpx.Client(base_url=api.rstrip("/"), timeout=timeout, auth=execute_api_auth(api))
    state = StateDir(state_dir or DEFAULT_STATE_DIR)
    info = state.read_runtime() if state.path.exists() else None
    if info is None:
        raise RuntimeNotRunning(
            f"no running `tradepipe local` found in {state.path} (start it, or pass --state-dir or --api)"
        )
    return httpx.Client(
        base_url=info.operator_url, timeout=timeout, headers={TOKEN_HEADER: state.operator_token()}
    )
