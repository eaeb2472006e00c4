"""The answer's head as libcurl hands it over, line by line, read as urllib3 reads it (curl_http.py)."""

from __future__ import annotations

from tradepipe.adapters.curl_http import _Head


def _read(*lines: bytes) -> _Head:
    head = _Head()
    for line in lines:
        head.line(line)
    return head


def test_the_final_head_replaces_an_interim_one_and_a_chunked_bodys_trailer_is_left_out() -> None:
    head = _read(
        b"HTTP/1.1 100 Continue\r\n",
        b"\r\n",
        b"HTTP/1.1 422 Unprocessable Entity\r\n",
        b"Content-Type: application/json\r\n",
        b"X-Seen: a\r\n",
        b"x-seen: b \r\n",
        b"\r\n",
        b"X-Trailer: after the body\r\n",  # a trailer field: urllib3 never puts it among the headers
        b"\r\n",
    )

    assert (head.status, head.reason) == ("422", "Unprocessable Entity")
    assert head.headers == {"Content-Type": "application/json", "X-Seen": "a, b "}
