"""Browser journeys: Debian's Chromium driven by Playwright against the app served on a free
local port, with a file database, the job worker running in-process and a real SMTP sink.

Every browser context a journey opens (through the `browser` or `page` fixtures) speaks the
journey's language (`lang`: French unless a test is parametrized over it) and has each page it
receives checked by the harness (axe-core, and the German pages for French text left), after
the test's body, and any Content-Security-Policy violation in its pages recorded: a violation
fails the test."""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import g, template_rendered
from live import LiveServer

import database
import models
from browser import harness, words
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
def lang():
    """The language of the journey's browser (its Accept-Language); French unless a test is
    parametrized over `lang`."""
    return "fr"


@pytest.fixture(autouse=True)
def _journey_language(lang):
    words.set_language(lang)
    yield
    words.set_language("fr")


class JourneyBrowser:
    """The session's Chromium, whose new contexts speak the journey's language and record every
    page for the harness."""

    def __init__(self, browser, recorder, lang):
        self._browser, self._recorder, self._lang = browser, recorder, lang

    def new_context(self, **options):
        options.setdefault("locale", words.LOCALES[self._lang])
        javascript = options.get("java_script_enabled", True)
        options.update(self._recorder.options(javascript, self._lang))
        return self._recorder.attach(self._browser.new_context(**options))

    def new_page(self, **options):
        return self.new_context(**options).new_page()

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture
def recorder(tmp_path):
    return harness.Recorder(tmp_path / "har")


@pytest.fixture(scope="session")
def page_checker():
    checker = harness.Checker()
    yield checker
    checker.close()


@pytest.fixture
def browser(browser, recorder, lang, page_checker):
    page_checker.browser = browser  # the session's Chromium, for its checking tab
    return JourneyBrowser(browser, recorder, lang)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test's body (while its live server still runs): check every page it saw."""
    result = yield
    recorder = item.funcargs.get("recorder")
    server = item.funcargs.get("live_server")
    if recorder is None or server is None:
        return result
    snapshots = recorder.snapshots()
    checker = item.funcargs["page_checker"]
    failures = harness.check_all(checker, snapshots, server.app, server.url)
    failures += [f"CSP violation: {v}" for v in dict.fromkeys(recorder.csp_violations)]
    if failures:
        pytest.fail(
            f"{len(snapshots)} pages checked; problems:\n" + "\n".join(failures),
            pytrace=False,
        )
    return result


def name_templates(app):
    """Each response names the templates rendered for it (for the harness's language check)."""

    def rendered(sender, template, context, **extra):
        g.setdefault("_rendered_templates", []).append(template.name)

    template_rendered.connect(rendered, app, weak=False)

    @app.after_request
    def header(response):
        if names := g.get("_rendered_templates"):
            response.headers[harness.TEMPLATES_HEADER] = ",".join(dict.fromkeys(names))
        return response

    return lambda: template_rendered.disconnect(rendered, app)


@contextmanager
def serving(tmp_path, database_url):
    """The app on `database_url` served on a free loopback port, with its in-process job worker
    and a real SMTP sink; yields the LiveServer (its app context pushed for the test)."""
    smtp = SMTPServer().start()
    server = LiveServer(smtp)
    config = make_config(
        tmp_path,
        database_url,
        HUEY_IMMEDIATE=False,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        PUBLIC_BASE_URL=server.url,
        LANGUAGES_READY=("fr", "de", "en"),
    )
    app = create_app(config)
    forget_templates = name_templates(app)
    consumer = app.extensions["jobs"].start_in_process(workers=1)
    server.attach(app).start()
    ctx = app.app_context()
    ctx.push()
    try:
        yield server
    finally:
        ctx.pop()
        forget_templates()
        server.stop()
        consumer.stop(graceful=True)
        smtp.stop()
        models.db.close()
        database.close_all()  # PostgreSQL: the pool's connections of the server's threads too


@pytest.fixture
def live_server(tmp_path, sqlite_template):
    """The app served on a copy of the migrated SQLite file (a journey that is to run on
    PostgreSQL too overrides this fixture with `serving(tmp_path, database_url)`)."""
    path = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, path)
    with serving(tmp_path, f"sqlite:///{path}") as server:
        yield server
