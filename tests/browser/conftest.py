"""Browser journeys: Debian's Chromium driven by Playwright against the app served on a free
local port, with a file database, the job worker running in-process and a real SMTP sink."""

import os
import shutil
from pathlib import Path

import pytest
from live import LiveServer

import models
from conftest import make_config
from run import create_app
from smtp import SMTPServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # One Chromium at a time, on one worker, while the other tests share the rest.
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def _require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail(f"REQUIRE_BROWSER_TESTS is set but there is no Chromium at {CHROMIUM}.")
        pytest.skip(
            f"No Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(or set CHROMIUM_PATH) to run the browser tests."
        )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture
def live_server(tmp_path, sqlite_template):
    path = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, path)
    smtp = SMTPServer().start()
    server = LiveServer(smtp)
    config = make_config(
        tmp_path,
        f"sqlite:///{path}",
        HUEY_IMMEDIATE=False,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        PUBLIC_BASE_URL=server.url,
    )
    app = create_app(config)
    consumer = app.extensions["jobs"].start_in_process(workers=1)
    server.attach(app).start()
    ctx = app.app_context()
    ctx.push()
    try:
        yield server
    finally:
        ctx.pop()
        server.stop()
        consumer.stop(graceful=True)
        smtp.stop()
        models.db.close()
