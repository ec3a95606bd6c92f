"""The production shape: nginx on $RECSVC_PORT in front of gunicorn on a unix socket.

`scripts/serve-production` runs `python -m recsvc.production`. It renders
deploy/nginx.conf.template into the run directory, starts gunicorn (gunicorn.conf.py, sync
workers) on <run dir>/gunicorn.sock, waits until a worker answers there, then starts Debian's
nginx in the foreground. Both run as the invoking user. SIGTERM or SIGINT stops both
gracefully (nginx first, so nothing new reaches gunicorn; gunicorn finishes what it has); if
either exits on its own, the other is stopped and the exit status is non-zero.
`python -m recsvc serve` stays the development server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from recsvc.config import PROJECT_ROOT, Settings

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.template"
GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def gunicorn_environ(
    settings: Settings, workers: int, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment gunicorn's workers start with: the worker count the app divides an
    in-memory rate limit by, and one console session secret per start shared by every worker."""
    environ = dict(os.environ if base is None else base)
    environ["RECSVC_WEB_WORKERS"] = str(workers)
    if not settings.secret_key:
        environ["RECSVC_SECRET_KEY"] = secrets.token_hex(32)
    return environ


def render(template: str, values: Mapping[str, object]) -> str:
    """{{NAME}} placeholders replaced; a placeholder without a value is an error."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"nginx template: no value for {{{{{name}}}}}")
        return str(values[name])

    return _PLACEHOLDER.sub(one, template)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise FileNotFoundError("nginx not found: install Debian's package (apt-get install nginx)")
    return found


def _wait_for_socket(path: Path, process: subprocess.Popen[bytes], stopping: list[int]) -> None:
    """Until a gunicorn worker answers /healthz on the unix socket (the master binds first)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and not stopping:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited during start-up (status {process.returncode})")
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            if sock.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.1)
    if stopping:
        return
    raise RuntimeError(f"gunicorn did not answer on {path} within {START_TIMEOUT_S:.0f} s")


def _stop(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def write_nginx_conf(
    run_dir: Path, *, host: str, port: int, settings: Settings, nginx_workers: int = 1
) -> Path:
    """deploy/nginx.conf.template rendered into run_dir/nginx.conf (nginx's paths there too)."""
    conf = run_dir / "nginx.conf"
    values = {
        # nginx's workers run as the invoking user: root's would otherwise become nobody
        "USER_DIRECTIVE": f"user {pwd.getpwuid(os.geteuid()).pw_name};"
        if os.geteuid() == 0
        else "",
        "RUN_DIR": run_dir,
        "HOST": host,
        "PORT": port,
        "NGINX_WORKERS": nginx_workers,
        "MAX_BODY_BYTES": settings.max_body_bytes,
        "UPSTREAM_TIMEOUT": settings.web_timeout_seconds + 5,
    }
    conf.write_text(render(TEMPLATE.read_text(), values))
    return conf


def nginx_command(conf: Path) -> list[str]:
    """nginx in the foreground on `conf` (checked first); -e: nginx opens its compiled-in error
    log before it reads the config, and that file is root's."""
    command = [nginx_binary(), "-e", "stderr", "-p", str(conf.parent), "-c", str(conf)]
    subprocess.run([*command, "-t", "-q"], check=True)
    return command


def serve(args: argparse.Namespace, settings: Settings) -> int:
    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    sock = run_dir / "gunicorn.sock"
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    conf = write_nginx_conf(
        run_dir, host=args.host, port=args.port, settings=settings,
        nginx_workers=args.nginx_workers,
    )  # fmt: skip
    nginx_argv = nginx_command(conf)

    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):  # before any child: none is left orphaned
        signal.signal(sig, on_signal)
    workers = args.workers or settings.web_workers
    environ = gunicorn_environ(settings, workers)
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF),
         "--bind", f"unix:{sock}", "--workers", str(workers), "recsvc:create_app()"],
        env=environ,
    )  # fmt: skip
    nginx_proc: subprocess.Popen[bytes] | None = None
    try:
        _wait_for_socket(sock, gunicorn, stopping)
        if not stopping:
            nginx_proc = subprocess.Popen(nginx_argv)
            print(f"serving on http://{args.host}:{args.port}: nginx -> gunicorn ({workers} "
                  f"workers) on {sock}", file=sys.stderr, flush=True)  # fmt: skip
        while not stopping and gunicorn.poll() is None:
            if nginx_proc is None or nginx_proc.poll() is not None:
                break
            time.sleep(0.2)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
    finally:
        if nginx_proc is not None:
            _stop(nginx_proc, signal.SIGQUIT)  # graceful: finish the requests in flight
        _stop(gunicorn, signal.SIGTERM)
    if stopping:
        return 0
    print("error: nginx or gunicorn exited; both stopped", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="scripts/serve-production", description=__doc__)
    parser.add_argument("--host", default=settings.host, help="default: RECSVC_HOST")
    parser.add_argument("--port", type=int, default=settings.port, help="default: RECSVC_PORT")
    parser.add_argument("--workers", type=int, default=None, help="default: RECSVC_WEB_WORKERS")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--run-dir", default=str(settings.run_dir), help="default: RECSVC_RUN_DIR")
    try:
        return serve(parser.parse_args(argv), settings)
    except (ValueError, OSError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
