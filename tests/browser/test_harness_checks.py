"""The harness itself, with the real axe-core and Chromium: a page with violations fails,
back-office pages included, and a German page with French template text fails."""

from browser import harness

BAD = """<!doctype html><html><head><title>x</title></head><body><main>
<h1>Une page</h1><img src="/nulle-part.png"><input type="text" name="sans-label">
</main></body></html>"""


def snapshot(html, path="/dossiers/", lang="fr", templates=()):
    return harness.Snapshot("http://127.0.0.1" + path, 200, html, True, lang, list(templates))


def test_violations_fail_with_url_rule_and_nodes(live_server, browser, page_checker):
    failures = harness.check_all(page_checker, [snapshot(BAD)], live_server.app, live_server.url)
    report = "\n".join(failures)
    for rule in ("html-has-lang", "image-alt", "label"):
        assert f"/dossiers/ [fr] axe {rule} " in report
    assert 'input[name="sans-label"]' in report or "sans-label" in report


def test_back_office_pages_are_held_to_the_same_rules(live_server, browser, page_checker):
    failures = harness.check_all(
        page_checker, [snapshot(BAD, path="/admin/dossiers/")], live_server.app, live_server.url
    )
    assert any("/admin/dossiers/ [fr] axe html-has-lang " in line for line in failures)


def test_a_german_page_showing_french_template_text_fails(live_server, browser, page_checker):
    import requests

    def home(lang):  # over HTTP: a request of its own, as the browser's
        return requests.get(
            live_server.url + "/", headers={"Accept-Language": lang}, timeout=10
        ).text

    french, german = home("fr"), home("de")
    ok = harness.check_all(
        page_checker,
        [snapshot(german, path="/", lang="de", templates=["portal/home.html"])],
        live_server.app,
        live_server.url,
    )
    assert ok == []
    failures = harness.check_all(
        page_checker,
        [snapshot(french, path="/", lang="de", templates=["portal/home.html"])],
        live_server.app,
        live_server.url,
    )
    assert "/ [de] French text left: « Se connecter »" in failures
