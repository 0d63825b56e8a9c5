"""The app as a real server in a real browser: `streamlit run` on a free port and Debian's
chromium through Playwright. Used by the browser tests and the memory/start-up benchmarks, so
both exercise the app exactly as a visitor does. Imports no Streamlit (it starts it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class ServerFailed(RuntimeError):
    """The server exited or never answered its health check; the message ends with its log."""


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    started: float  # perf_counter() just before `streamlit run`
    serving: float = 0.0  # seconds until /_stcore/health answered


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def streamlit_server(indexes: Path, log_path: Path, python: str = sys.executable,
                     start_timeout_s: float = 90) -> Iterator[Server]:
    """`streamlit run streamlit_app.py`, headless, scanning `indexes`; stopped (and waited) after.
    `python` may be another environment's interpreter (e.g. one with the CPU-only torch)."""
    port = free_port()
    env = dict(os.environ, IMAGE_SEARCH_INDEXES=str(indexes))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"),
             "--server.port", str(port), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", proc, started)
    try:
        server.serving = _wait_until_serving(server, log_path, start_timeout_s)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _wait_until_serving(server: Server, log_path: Path, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ServerFailed(f"streamlit exited with {server.proc.returncode}:\n"
                               f"{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - server.started
        except OSError:
            time.sleep(0.1)
    raise ServerFailed(f"streamlit did not serve within {timeout_s:.0f} s:\n"
                       f"{log_path.read_text()[-3000:]}")


def chromium_path() -> str | None:
    return shutil.which("chromium")


@contextmanager
def browser() -> Iterator[object]:
    """Headless Debian chromium through Playwright (its own browser download does not work)."""
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    if chromium is None:
        raise RuntimeError("chromium is not on PATH: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
