"""How the simulator talks to the service: the Flask app in-process, or HTTP with a key."""

from __future__ import annotations

import http.client
import json
from typing import Any, Protocol
from urllib.parse import urlsplit


class ServiceError(RuntimeError):
    """The service answered a simulator call with an error status."""


class ServiceClient(Protocol):
    def post(self, path: str, body: dict[str, Any], request_id: str | None = None) -> Any:
        """POST JSON; the decoded answer (raises ServiceError on a status >= 400)."""
        ...


def _checked(path: str, status: int, data: Any) -> Any:
    if status >= 400:
        detail = data.get("detail") if isinstance(data, dict) else data
        raise ServiceError(f"POST {path}: {status} {detail}")
    return data


class InProcessClient:
    """Calls through the Flask app's test client (no sockets, same request path)."""

    def __init__(self, app: Any, key: str) -> None:
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {key}"}

    def post(self, path: str, body: dict[str, Any], request_id: str | None = None) -> Any:
        headers = dict(self.headers)
        if request_id:
            headers["X-Request-ID"] = request_id
        response = self.client.post(path, json=body, headers=headers)
        return _checked(path, response.status_code, response.get_json(silent=True))


class HttpClient:
    """Calls a running service over one kept-alive HTTP connection."""

    def __init__(self, url: str, key: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url must be http://host:port, got {url!r}")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.key = key
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=self.timeout)

    def post(self, path: str, body: dict[str, Any], request_id: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        if request_id:
            headers["X-Request-ID"] = request_id
        payload = json.dumps(body)
        for attempt in (1, 2):  # one reconnect if the server closed the kept-alive connection
            try:
                self.conn.request("POST", self.prefix + path, payload, headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = self._connect()
                if attempt == 2:
                    raise
        data = json.loads(raw) if raw else None
        return _checked(path, response.status, data)

    def close(self) -> None:
        self.conn.close()
