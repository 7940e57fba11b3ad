"""The translation catalogues: every text of the code and templates is in each catalogue (run
`make i18n` after adding one), and each catalogue compiles."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from config import Config

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))


def extracted(tmp_path):
    """The msgids pybabel finds in the tree now, the way `make i18n` extracts them."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            Path(sys.executable).with_name("pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--ignore-dirs=.* _* .venv tests bench migrations instance",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as source:
        return {m.id for m in read_po(source) if m.id}


def test_there_is_a_catalogue_for_each_offered_language():
    assert {path.parts[-3] for path in CATALOGUES} >= {"de", "en", "nl"}


def test_every_text_of_the_code_is_in_every_catalogue(tmp_path):
    wanted = extracted(tmp_path)
    assert len(wanted) > 500, "the extraction found the texts"
    for path in CATALOGUES:
        with path.open("rb") as source:
            present = {m.id for m in read_po(source) if m.id}
        missing = sorted(str(m) for m in wanted - present)[:5]
        assert not missing, f"{path.parts[-3]}: run `make i18n`; missing e.g. {missing}"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_catalogue_compiles(path):
    with path.open("rb") as source:
        catalogue = read_po(source)
    errors = [(m.id, e) for m, e in catalogue.check()]
    assert not errors
    write_mo(io.BytesIO(), catalogue)


# German and English are complete; a language is offered only once it is complete too.
COMPLETE = {"de", "en"} | set(Config.LANGUAGES_READY) - {Config.BABEL_DEFAULT_LOCALE}


@pytest.mark.parametrize("code", sorted(COMPLETE))
def test_complete_catalogues_have_no_empty_or_fuzzy_entry(code):
    with (ROOT / "translations" / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source)
    empty = [m.id for m in catalogue if m.id and not m.string]
    fuzzy = [m.id for m in catalogue if m.id and "fuzzy" in m.flags]
    assert not empty, f"{code}: {len(empty)} untranslated, e.g. {empty[:3]}"
    assert not fuzzy, f"{code}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:3]}"
