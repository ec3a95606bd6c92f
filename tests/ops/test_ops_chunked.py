"""A chunked request body over RECSVC_MAX_BODY_BYTES is 413 under gunicorn, not a 400 (werkzeug
would cut the stream at the limit and the truncated JSON would not parse)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from servertesting import LOOPBACK, server_environ, serving, store_with_key

MAX_BODY = 8 * 1024


def chunked_post(base: str, path: str, body: bytes, key: str) -> tuple[int, dict[str, object]]:
    """POST with Transfer-Encoding: chunked, 1 KiB chunks; (status, problem body)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        try:
            for start in range(0, len(body), 1024):
                part = body[start : start + 1024]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer 413 and close before reading the rest
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    header, _, payload = reply.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    return status, json.loads(payload) if payload.strip() else {}


def test_chunked_body_over_the_limit_is_413_and_within_it_is_read(tmp_path: Path) -> None:
    settings, key = store_with_key(tmp_path)
    env = server_environ(settings, RECSVC_MAX_BODY_BYTES=str(MAX_BODY))
    with serving(env, tmp_path, workers=1) as server:
        big = json.dumps({"customer_id": "C" * (3 * MAX_BODY)}).encode()
        status, problem = chunked_post(server.base, "/v1/pitch", big, key)
        assert status == 413, problem
        assert problem["status"] == 413
        small = json.dumps({"customer_id": "C" * 100}).encode()
        status, problem = chunked_post(server.base, "/v1/pitch", small, key)
        assert status == 422, problem  # read whole: the id is too long, named
        assert set(problem["errors"]) == {"customer_id"}  # type: ignore[arg-type]
