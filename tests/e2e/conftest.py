"""A real Agora server (daphne, in its own process and database) and a real browser.

The browser is the system's Chromium driven by Playwright. Locally these tests skip when
Chromium or Playwright is missing; under CI=true they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "e2e correct horse battery"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_daphne(env: dict, port: int, workdir: Path):
    """daphne serving Agora with `env` on 127.0.0.1:`port` until the block ends; its log is
    `workdir`/daphne.log, shown if it does not answer within 30 s."""
    log_path = workdir / "daphne.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            + ["intranet.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base_url}/accounts/login/", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.2)
        try:
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def _chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory):
    """Migrate a fresh SQLite database, build the world, serve it with daphne."""
    workdir = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'e2e.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DEBUG": "false",
        "SECRET_KEY": "e2e-only-secret-key-not-for-production-0123456789",
        "E2E_PASSWORD": PASSWORD,
        "OUTBOX_DRAIN_INLINE": "true",
        "STATIC_ROOT": str(workdir / "static"),
    }
    env.pop("REDIS_URL", None)
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run(
        [python, str(ROOT / "tests" / "e2e" / "make_world.py")], cwd=ROOT, env=env, check=True
    )
    with running_daphne(env, port, workdir) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser():
    # Module, not session: while Playwright's sync API is open its event loop counts as
    # running in this thread, so asyncio.run() and async_to_sync() in tests that come later
    # on the same worker (tests/realtime, tests/integration) would fail.
    chromium = _chromium_path()
    if chromium is None:
        skip_or_fail("no Chromium on this machine (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("Playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def signed_in_page(context, base_url: str, username: str):
    """A new page of the browser `context`, signed in as `username` through the sign-in page
    (and left on the home page)."""
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    return page


def submit(page, control) -> None:
    """Click `control`, which sends its form the ordinary way, and wait for the page that
    answers. Clicking and then waiting for the load state does not wait: the page that holds
    the form is loaded already, so what comes next could read it, or change cookies, while the
    request is on its way."""
    with page.expect_navigation():
        control.click()


@pytest.fixture
def sign_in(browser, e2e_server):
    """Open a fresh browser context signed in as `username`."""
    contexts = []

    def _sign_in(username: str, *, width: int = 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        return signed_in_page(context, e2e_server, username)

    yield _sign_in
    for context in contexts:
        context.close()


# --- accessibility: axe-core, a test-only npm package (tests/e2e/axe) ---------------------

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (one main landmark, one h1,
# every piece of content inside a landmark, ...), which the pages meet too.
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="module")
def axe_script() -> str:
    if not AXE.exists():
        skip_or_fail("axe-core is not installed (npm ci --prefix tests/e2e/axe)")
    return AXE.read_text()


def violations(page, axe_script: str) -> list[str]:
    """axe-core's violations of RULE_TAGS on the page as it stands, one line per element."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_script)
    found = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary),
            }));
        }""",
        RULE_TAGS,
    )
    return [f"{v['id']} ({v['help']}) at {node}" for v in found for node in v["nodes"]]
