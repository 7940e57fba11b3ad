"""The harness itself, with the real axe-core and Chromium: a page with violations fails, the
back-office's tolerated list only reports, a German page with French template text fails."""

from browser import harness

BAD = """<!doctype html><html><head><title>x</title></head><body><main>
<h1>Une page</h1><img src="/nulle-part.png"><input type="text" name="sans-label">
</main></body></html>"""


def snapshot(html, path="/dossiers/", lang="fr", templates=()):
    return harness.Snapshot("http://127.0.0.1" + path, 200, html, True, lang, list(templates))


def test_violations_fail_with_url_rule_and_nodes(live_server, browser, page_checker):
    failures, tolerated = harness.check_all(
        page_checker, [snapshot(BAD)], live_server.app, live_server.url
    )
    report = "\n".join(failures)
    assert tolerated == []
    for rule in ("html-has-lang", "image-alt", "label"):
        assert f"/dossiers/ [fr] axe {rule} " in report
    assert 'input[name="sans-label"]' in report or "sans-label" in report


def test_the_back_office_list_only_reports(live_server, browser, page_checker):
    failures, tolerated = harness.check_all(
        page_checker, [snapshot(BAD, path="/admin/dossiers/")], live_server.app, live_server.url
    )
    assert failures == [] and any("html-has-lang" in line for line in tolerated)


def test_a_german_page_showing_french_template_text_fails(live_server, browser, page_checker):
    import requests

    def home(lang):  # over HTTP: a request of its own, as the browser's
        return requests.get(
            live_server.url + "/", headers={"Accept-Language": lang}, timeout=10
        ).text

    french, german = home("fr"), home("de")
    ok, _ = harness.check_all(
        page_checker,
        [snapshot(german, path="/", lang="de", templates=["portal/home.html"])],
        live_server.app,
        live_server.url,
    )
    assert ok == []
    failures, _ = harness.check_all(
        page_checker,
        [snapshot(french, path="/", lang="de", templates=["portal/home.html"])],
        live_server.app,
        live_server.url,
    )
    assert "/ [de] French text left: « Se connecter »" in failures
