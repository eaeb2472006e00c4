"""The local API emulator's proxy events and loopback rule; the terminal rendering of a trail."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tradepipe.cli.status import render_trail
from tradepipe.local.api_gateway import ApiRoute, build_api


def _echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import json

    keys = ("resource", "path", "httpMethod", "pathParameters", "body", "isBase64Encoded")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {k: event[k] for k in keys} | {"ip": event["requestContext"]["identity"]["sourceIp"]}
        ),
    }


def test_api_emulator_when_request_then_rest_proxy_event_with_path_parameters() -> None:
    app = build_api([ApiRoute("POST", "/webhook/{token}", "webhook", _echo, 10)])

    response = TestClient(app).post(
        "/webhook/abc", content=b"\xff\x00", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 200
    event = response.json()
    assert event["resource"] == "/webhook/{token}"
    assert event["pathParameters"] == {"token": "abc"}
    assert event["isBase64Encoded"] is True  # not UTF-8: API Gateway would base64 it too


def test_api_emulator_when_read_route_from_non_loopback_then_403() -> None:
    app = build_api([ApiRoute("GET", "/signals/{signal_id}", "webhook", _echo, 10, loopback_only=True)])

    response = TestClient(app).get("/signals/x")  # the test client's address is "testclient", not loopback

    assert response.status_code == 403


def test_api_emulator_when_route_unknown_then_api_gateway_403() -> None:
    assert TestClient(build_api([])).get("/nope").status_code == 403


def test_render_trail_shows_states_reasons_and_orders() -> None:
    text = render_trail(
        {
            "signal_id": "abc",
            "status": "FILLED",
            "action": "ENTER",
            "side": "BUY",
            "ticker": "IBM",
            "mode": "paper",
            "strategy": "s",
            "qty": 40,
            "trail": [
                {"status": "RECEIVED", "at": "t0"},
                {"status": "SIZED", "at": "t1", "detail": "open qty=40"},
                {"status": "FILLED", "at": "t2", "detail": "qty=40 avg_price=202.91"},
            ],
            "orders": [
                {
                    "client_order_id": "tp-abc-close",
                    "purpose": "close",
                    "side": "BUY",
                    "qty": 95,
                    "order_class": "simple",
                    "broker_order_id": "b1",
                    "status": "filled",
                    "filled_qty": "95",
                    "filled_avg_price": "202.91",
                }
            ],
        }
    )

    assert "signal abc  FILLED  ENTER BUY IBM paper s" in text
    assert "SIZED      open qty=40" in text
    assert "order tp-abc-close (close, BUY 95, simple) alpaca b1: filled filled 95 @ 202.91" in text
