"""NEWSDESK_AUTH: the real UI server (`python -m app ui`) refuses every page and API call without a login."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ROOT, free_port, stop_process

pytestmark = pytest.mark.slow

USER, PASSWORD = "editor", "s3cret-pass"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("auth")
    port = free_port()
    env = dict(os.environ, NEWSDESK_STORE_DIR=str(workdir / "store"), NEWSDESK_COLLECTION="auth-test",
               NEWSDESK_AUTH=f"{USER}:{PASSWORD}", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False")
    log_path = workdir / "app.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "app", "ui", "--port", str(port), "--no-seed"], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while "is running on" not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
        assert f"is running on http://127.0.0.1:{port}/" in log_path.read_text()  # loopback unless --host
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, trust_env=False, timeout=30, follow_redirects=False)


def test_pages_and_api_need_a_login(server: str) -> None:
    with _client(server) as client:
        assert client.get("/config").status_code == 401
        assert client.get("/gradio_api/info").status_code == 401
        assert client.post("/gradio_api/call/chat", json={"data": ["What happened?"]}).status_code == 401
        assert client.post("/login", data={"username": USER, "password": "wrong"}).status_code in (400, 401)
        assert client.get("/config").status_code == 401


def test_the_right_password_opens_the_app(server: str) -> None:
    with _client(server) as client:
        assert client.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
        assert client.get("/config").status_code == 200


@pytest.mark.parametrize("value", [":", "editor:", ":s3cret", "  :s3cret", "editor"])
def test_an_empty_user_or_password_stops_the_app_at_start(tmp_path, value: str) -> None:
    env = dict(os.environ, NEWSDESK_STORE_DIR=str(tmp_path / "store"), NEWSDESK_AUTH=value)
    out = subprocess.run([sys.executable, "-m", "app", "ui", "--port", str(free_port()), "--no-seed"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1].startswith("error: invalid configuration: NEWSDESK_AUTH: "), out.stderr
    assert "Traceback" not in out.stderr and "is running on" not in out.stdout


def test_serving_beyond_loopback_without_a_login_warns_at_once(tmp_path) -> None:
    env = dict(os.environ, NEWSDESK_STORE_DIR=str(tmp_path / "store"), HF_HUB_OFFLINE="1")
    env.pop("NEWSDESK_AUTH", None)
    proc = subprocess.Popen([sys.executable, "-m", "app", "ui", "--host", "0.0.0.0", "--port", str(free_port()),
                             "--no-seed"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # printed before anything is loaded
    finally:
        stop_process(proc)
    assert first.startswith("Newsdesk QA: WARNING: serving on 0.0.0.0 without a login."), first
    assert "NEWSDESK_AUTH=user:password" in first
