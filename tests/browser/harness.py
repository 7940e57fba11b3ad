"""What every browser journey checks on every page it visits, whatever the test asserts.

Each HTML document the journey's browser receives (a link followed, a form posted, a redirect's
end, an error page) is recorded as it arrives: the route handler fetches it for the browser and
keeps the body, so no page slips past however fast the test moves on. After the test's body,
each recorded page is shown again, byte for byte, in a checking tab of its own (same URL, the
live server's CSS and, when the journey had JavaScript, its scripts) and:

- axe-core (vendored under vendor/axe-core, never from a CDN) runs with the WCAG 2.0/2.1 A and
  AA rules: any violation fails the test, naming the URL, the rule and the nodes;
- a page asked in German must not show a French text of the templates that rendered it (the
  live server names them in a response header; their msgids are extracted with babel's jinja2
  extractor, as `make i18n` does).

While the journey runs, every Content-Security-Policy violation in its browser (an inline
script, style or handler the policy refused, reported by the page's `securitypolicyviolation`
event or by Chromium's console) is recorded; any fails the test, naming the page and what was
refused.
"""

import base64
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2.meta
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TEMPLATES_HEADER = "X-Rendered-Templates"

# Texts that are the same in every language: names of things, not sentences.
SAME_IN_EVERY_LANGUAGE = {"Guichet", "itsme", "FAS", "SMS", "PDF", "TOTP", "IBAN", "ZDU"}
# A shorter text ("OK", "Non") is too likely to occur inside another word or in data.
MIN_LENGTH = 4

AXE_RUN = """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations']}).then(r => r.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 160))})))"""


@dataclass
class Snapshot:
    url: str
    status: int
    html: str
    javascript: bool
    lang: str
    templates: list = field(default_factory=list)

    @property
    def path(self):
        return re.sub(r"^https?://[^/]+", "", self.url) or "/"

    def key(self):
        """Same page, same check: the CSRF tokens and the server's port do not matter."""
        body = re.sub(r'(name="csrf_token"[^>]*value=|value=)"[^"]{40,}"', "", self.html)
        body = re.sub(r"127\.0\.0\.1:\d+", "", body)
        raw = f"{self.lang}|{self.javascript}|{self.path.split('?')[0]}|{body}"
        return hashlib.sha256(raw.encode()).hexdigest()


# Installed in every page of a journey before its own content: each violation reported to the
# recorder as it happens (a binding outlives the page, which a list in `window` would not).
CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) =>
    window.__guichetCspViolation([document.location.pathname, e.effectiveDirective,
        e.blockedURI || "", (e.sample || "").slice(0, 80),
        (e.sourceFile || "").replace(/^https?:\\/\\/[^/]+/, "") + ":" + e.lineNumber
    ].join(" | ")));"""


class Recorder:
    """Keeps every HTML document that the browser contexts it opens receive: each context
    records a HAR (every response with its body, redirects and form posts included, in order);
    `snapshots()` closes the contexts and reads them. Keeps too every CSP violation their pages
    report (`csp_violations`)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.contexts = []
        self.csp_violations = []

    def options(self, javascript, lang):
        path = self.folder / f"journey-{len(self.contexts)}.har"
        self.contexts.append((None, path, javascript, lang))
        return {"record_har_path": str(path), "record_har_content": "embed"}

    def attach(self, context):
        _none, path, javascript, lang = self.contexts[-1]
        self.contexts[-1] = (context, path, javascript, lang)
        context.expose_function("__guichetCspViolation", self.violation)
        context.add_init_script(script=CSP_LISTENER)
        context.on("console", self.console)
        return context

    def violation(self, text):
        self.csp_violations.append(text)

    def console(self, message):
        if "Content Security Policy" in message.text:
            path = re.sub(r"^https?://[^/]+", "", message.page.url if message.page else "")
            self.csp_violations.append(f"{path} | console: {message.text[:300]}")

    def snapshots(self):
        result = []
        for context, path, javascript, lang in self.contexts:
            if context is None:
                continue
            context.close()  # writes the HAR
            if path.exists():
                result += read_har(path, javascript, lang)
        return result


HTML_LANG = re.compile(r'<html[^>]*\slang="([a-z]{2})"')


def read_har(path, javascript, lang):
    snapshots = []
    for entry in json.loads(path.read_text())["log"]["entries"]:
        request, response = entry["request"], entry["response"]
        content = response.get("content", {})
        accept = next((h["value"] for h in request["headers"] if h["name"].lower() == "accept"), "")
        if (
            300 <= response["status"] < 400
            or not content.get("mimeType", "").startswith("text/html")
            or "text/html" not in accept
            or "text" not in content
        ):
            continue
        text = content["text"]
        if content.get("encoding") == "base64":
            text = base64.b64decode(text).decode("utf-8")
        names = next(
            (
                h["value"]
                for h in response["headers"]
                if h["name"].lower() == TEMPLATES_HEADER.lower()
            ),
            "",
        )
        # The language the page says it is in (a journey whose pages change language on the
        # way, as at a login that brings the person's own), else the journey's.
        said = HTML_LANG.search(text)
        snapshots.append(
            Snapshot(
                request["url"],
                response["status"],
                text,
                javascript,
                said[1] if said else lang,
                [n for n in names.split(",") if n],
            )
        )
    return snapshots


@dataclass
class Finding:
    path: str
    lang: str
    violations: list
    french: list

    def describe(self):
        lines = []
        for v in self.violations:
            lines.append(f"{self.path} [{self.lang}] axe {v['id']} ({v['impact']}): {v['help']}")
            lines += [f"    {node}" for node in v["nodes"][:8]]
            if len(v["nodes"]) > 8:
                lines.append(f"    … and {len(v['nodes']) - 8} more nodes")
        lines += [f"{self.path} [{self.lang}] French text left: « {m} »" for m in self.french]
        return lines


class Checker:
    """Shows each snapshot again in a tab of its own (its HTML written into a page of the live
    server, so that the stylesheets load as they did) and checks it. One tab for the session;
    results are cached by page content (the login pages are the same in every journey)."""

    def __init__(self):
        self.browser = None
        self.page = None
        self.origin = None
        self.cache = {}

    def _tab(self, base):
        if self.page is None:
            # The checking tab injects axe-core into the page it shows: the page's own policy
            # would refuse it (the journey's tabs keep theirs, and report its violations).
            context = self.browser.new_context(
                viewport={"width": 1280, "height": 900}, bypass_csp=True
            )
            self.page = context.new_page()
        if self.origin != base:
            self.page.goto(base + "/healthz")
            self.page.add_script_tag(path=str(AXE))
            self.origin = base
        return self.page

    def check(self, snap, app, base):
        key = snap.key()
        if key not in self.cache:
            page = self._tab(base)
            html = snap.html if snap.javascript else SCRIPT.sub("", snap.html)
            page.set_content(html, wait_until="load")
            violations = page.evaluate(AXE_RUN, AXE_TAGS)
            french = []
            if snap.lang == "de":
                nodes = [n for n in page.evaluate(VISIBLE_TEXT) if not is_data(n)]
                msgids = page_msgids(app, snap.templates)
                french = french_left(" ".join(nodes), msgids, catalogue("de"), nodes)
            self.cache[key] = (violations, french)
        violations, french = self.cache[key]
        return Finding(snap.path, snap.lang, violations, french)

    def close(self):
        if self.page is not None:
            self.page.context.close()


# The text of each visible text node of the page.
VISIBLE_TEXT = """() => {
    const nodes = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode, text = node.textContent.trim();
        if (text && node.parentElement && node.parentElement.checkVisibility()) nodes.push(text);
    }
    return nodes;
}"""
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)


def check_all(checker, snapshots, app, base):
    """The problems found, as lines to print; every snapshot is checked, none is exempt."""
    failures = []
    for snap in snapshots:
        finding = checker.check(snap, app, base)
        if finding.french or finding.violations:
            failures += finding.describe()
    return failures


# --- the French texts of a page's templates ---------------------------------------------------


@cache
def catalogue(lang):
    """{msgid: msgstr} of the project's catalogue for `lang` (msgstr "" when untranslated)."""
    path = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        entries = read_po(f)
    result = {}
    for message in entries:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            for n, msgid in enumerate(message.id):
                strings = message.string if isinstance(message.string, tuple | list) else ()
                result[msgid] = strings[min(n, len(strings) - 1)] if strings else ""
        else:
            result[message.id] = "" if message.fuzzy else (message.string or "")
    return result


def template_msgids(env, name, seen=None):
    """The msgids of template `name` and of every template it extends, includes or imports;
    templates outside the project (Flask-Admin's own, with their own catalogue) are skipped."""
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    try:
        source, filename, _uptodate = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        return set()
    ids = set()
    if filename and Path(filename).resolve().is_relative_to(ROOT):
        for _lineno, message, _comments, _context in extract_from_file("jinja2", filename):
            ids.update(message if isinstance(message, tuple | list) else [message])
    for ref in jinja2.meta.find_referenced_templates(env.parse(source)):
        if ref:
            ids |= template_msgids(env, ref, seen)
    return ids


_msgid_cache = {}


def page_msgids(app, names):
    ids = set()
    for name in names:
        if name not in _msgid_cache:
            _msgid_cache[name] = template_msgids(app.jinja_env, name)
        ids |= _msgid_cache[name]
    return ids


LETTER = re.compile(r"[^\W\d_]")


@cache
def data_texts():
    """The French texts of the shipped procedures (titles, labels, help, reasons): data shown
    on a page, not the template's."""
    import yaml

    texts = set()

    def walk(value):
        if isinstance(value, str):
            texts.add(" ".join(value.split()))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in sorted((ROOT / "procedures" / "definitions").glob("*.yaml")):
        walk(yaml.safe_load(path.read_text()))
    return texts


def is_data(node):
    """Whether a text node of the page is (part of) a procedure's own text."""
    node = " ".join(node.split())
    return node in data_texts() or any(node in text for text in data_texts() if len(text) > 30)


PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|<[^>]+>")


def msgid_pattern(msgid):
    """A regex finding `msgid` as shown on a page: placeholders match any text, tags none,
    spaces any run of white space, and not inside a longer word."""
    parts = PLACEHOLDER.split(msgid)
    literal = "".join(parts).strip()
    if len(literal) < MIN_LENGTH or literal in SAME_IN_EVERY_LANGUAGE:
        return None
    pieces = [r"\s+".join(map(re.escape, p.split())) if p.strip() else r"\s*" for p in parts]
    body = r".{1,200}?".join(pieces)
    return re.compile(r"(?<!\w)" + body.strip() + r"(?!\w)", re.DOTALL)


def french_left(text, msgids, translations, nodes=None):
    """The French msgids shown in `text` although the page should be in the catalogue's
    language: untranslated there, or translated differently.

    A one-word msgid ("pour", "Obligatoire") counts only where it stands alone in its text node
    (with figures or punctuation at most, as in a tag "Obligatoire — 1/2"): inside a sentence it
    is most likely the data's own French (a procedure's texts), not the template's."""
    nodes = [text] if nodes is None else nodes
    found = []
    for msgid in sorted(msgids):
        translated = translations.get(msgid, "")
        if translated == msgid:
            continue  # the same in both languages
        pattern = msgid_pattern(msgid)
        if pattern is None:
            continue
        if translated and pattern.search(translated):
            continue  # the translation itself contains the French (a name kept as is)
        if len(PLACEHOLDER.sub(" ", msgid).split()) > 1:
            if pattern.search(text):
                found.append(msgid)
        elif any(pattern.search(n) and not LETTER.search(pattern.sub("", n)) for n in nodes):
            found.append(msgid)
    return found


# --- screenshots kept as test artefacts -------------------------------------------------------

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"


def shoot(page, name, docs=False):
    """A screenshot of what `page` shows now, under test-artifacts/screenshots/<test>/ (not
    committed; CI can keep the folder). With `docs` and UPDATE_DOCS_SCREENSHOTS=1 in the
    environment, the visible part (1280 px wide) also replaces docs/screenshots/<name>.png, in
    256 colours to stay small."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "journey").split(" ")[0]
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test.split("::", 1)[-1])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        from PIL import Image

        visible = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        visible.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            DOCS / f"{name}.png", optimize=True
        )
    return path
