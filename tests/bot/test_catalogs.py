"""The catalogs: every text of the bot is in every language's catalog, translated, with the same
placeholders, emoji and line breaks, and the template matches the code."""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n

BOT_DIR = Path(i18n.__file__).parent
TRANSLATED = [code for code in i18n.CODES if code != i18n.DEFAULT]


def msgid_of(message) -> str | tuple[str, str]:
    return tuple(message) if isinstance(message, (tuple, list)) else message


def texts_in_the_code() -> set[str | tuple[str, str]]:
    """Every msgid the bot's code passes to gettext/ngettext, extracted as `make messages` does."""
    found = extract_from_dir(str(BOT_DIR), method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS,
                             comment_tags=("Translators:",))
    return {msgid_of(message) for _, _, message, _, _ in found}


def load(path: Path, locale: str | None = None) -> Catalog:
    with open(path, "rb") as file:
        return read_po(file, locale=locale, abort_invalid=True)


def entries(catalog: Catalog) -> dict:
    return {msgid_of(message.id): message for message in catalog if message.id}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def emoji(text: str) -> Counter:
    """Pictographs and symbols ("So": ✅ 📷 ⏳ ▶ °...), the variation selector left out."""
    return Counter(char for char in text if unicodedata.category(char) == "So")


@pytest.fixture(scope="module")
def code_texts():
    return texts_in_the_code()


def test_the_template_lists_exactly_the_texts_in_the_code(code_texts):
    assert len(code_texts) > 150
    assert set(entries(load(i18n.LOCALES_DIR / f"{i18n.DOMAIN}.pot"))) == code_texts, "run `make messages`"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_text_is_in_every_catalog_and_translated(code, code_texts):
    catalog = load(i18n.catalog_path(code), code)
    assert str(catalog.locale) == code
    found = entries(catalog)
    assert set(found) == code_texts, "run `make messages`, then translate what is new"
    for msgid, message in found.items():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert "fuzzy" not in message.flags, f"{code}: check and unmark the fuzzy translation of {msgid!r}"
        assert len(forms) == catalog.num_plurals if message.pluralizable else len(forms) == 1, msgid
        assert all(form.strip() for form in forms), f"{code}: {msgid!r} is not translated"


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_placeholders_emoji_and_line_breaks(code):
    for msgid, message in entries(load(i18n.catalog_path(code), code)).items():
        sources = msgid if isinstance(msgid, tuple) else (msgid,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = placeholders(sources[-1])
        assert all(placeholders(source) == expected for source in sources), msgid
        for form in forms:
            assert placeholders(form) == expected, f"{code}: {form!r} for {msgid!r}"
            assert emoji(form) == emoji(sources[-1]), f"{code}: emoji of {form!r} for {msgid!r}"
            assert form.count("\n") == sources[-1].count("\n"), f"{code}: line breaks of {form!r}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_catalogs_pass_babels_checks_and_load(code):
    catalog = load(i18n.catalog_path(code), code)
    assert list(catalog.check()) == []
    language = i18n.get(code)
    assert language.gettext("What I saw") != "What I saw"  # the catalog is in use, not the English fallback
