"""Picking a language, loading catalogs, and numbers in each language's own format."""

from __future__ import annotations

import gettext
import io
import logging

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from bot import i18n


@pytest.mark.parametrize(("language_code", "expected"), [
    ("en", "en"), ("ru", "ru"), ("es", "es"), ("de", "de"),
    ("pt-br", "pt_BR"), ("pt", "pt_BR"), ("PT-BR", "pt_BR"), ("pt_BR", "pt_BR"), ("pt-pt", "pt_BR"),
    ("ru-RU", "ru"), ("es-419", "es"), ("de-AT", "de"), ("en-GB", "en"),
])
def test_telegram_language_codes_pick_a_supported_language(language_code, expected):
    assert i18n.from_language_code(language_code).code == expected


@pytest.mark.parametrize("language_code", ["fr", "uk", "zh-hans", "", None, "-", "p", "xx-yy-zz", 42])
def test_unsupported_or_missing_codes_fall_back_to_english(language_code):
    assert i18n.from_language_code(language_code) is i18n.english()


@pytest.mark.parametrize(("header", "expected"), [
    ("de-CH,de;q=0.9,en;q=0.8", "de"),
    ("fr-FR,fr;q=0.9,ru;q=0.8,en;q=0.5", "ru"),
    ("en;q=0.3, es-MX;q=0.7", "es"),
    ("pt-BR", "pt_BR"),
    ("fr, it", "en"),
    ("", "en"),
    (None, "en"),
    ("*", "en"),
    ("ru;q=0, es", "es"),
    ("ru;q=abc, de;q=0.5", "de"),
    (";;,,de", "de"),
    ("ru;q=, en", "en"),
])
def test_accept_language_picks_the_browsers_first_supported_language(header, expected):
    assert i18n.from_accept_language(header).code == expected


def test_only_supported_codes_are_found():
    assert i18n.find("pt_BR").code == "pt_BR"
    assert [i18n.find(code) for code in ("pt", "PT_BR", "fr", "", None, 3)] == [None] * 6
    with pytest.raises(KeyError):
        i18n.get("fr")
    assert [language.code for language in i18n.supported()] == list(i18n.CODES) == ["en", "ru", "es", "de", "pt_BR"]


def test_each_language_has_its_own_name_and_menu_code():
    assert {language.code: (language.name, language.menu_code, language.tag) for language in i18n.supported()} == {
        "en": ("English", "", "en"),
        "ru": ("Русский", "ru", "ru"),
        "es": ("Español", "es", "es"),
        "de": ("Deutsch", "de", "de"),
        "pt_BR": ("Português (Brasil)", "pt", "pt-BR"),
    }


def test_percentages_and_numbers_follow_the_locale():
    percent = {language.code: language.percent(0.999) for language in i18n.supported()}
    assert percent == {"en": "99.9 %", "ru": "99,9 %", "es": "99,9 %", "de": "99,9 %", "pt_BR": "99,9 %"}
    assert i18n.english().percent(0.9951, 2) == "99.51 %" and i18n.get("de").percent(0.9, 0) == "90 %"
    assert i18n.english().number(1234567) == "1,234,567"
    assert i18n.get("de").number(1234567) == "1.234.567"
    assert i18n.get("ru").number(1234567) == "1\xa0234\xa0567"
    assert i18n.get("pt_BR").number(1.55, 1) == "1,6"


def translations(entries: dict, locale: str = "ru") -> gettext.GNUTranslations:
    """A compiled catalog holding ``entries`` (msgid -> msgstr, or (singular, plural) -> forms)."""
    catalog = Catalog(locale=locale)
    for msgid, msgstr in entries.items():
        catalog.add(msgid, msgstr)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def test_plural_forms_and_placeholders_are_filled_in_the_language():
    spec = next(spec for spec in i18n._SPECS if spec.code == "ru")
    russian = i18n.Language(spec, translations({
        ("{count} file", "{count} files"): ("{count} файл", "{count} файла", "{count} файлов"),
        "Hello {name}": "Привет, {name}",
    }))
    assert [russian.ngettext("{count} file", "{count} files", n) for n in (1, 3, 5, 21, 1234)] == [
        "1 файл", "3 файла", "5 файлов", "21 файл", "1\xa0234 файла"]
    assert russian.gettext("Hello {name}", name="Аня") == "Привет, Аня"
    assert russian.gettext("Not in the catalog: {x}", x=1) == "Not in the catalog: 1"  # English, not an error


def test_a_translation_whose_placeholders_do_not_fit_falls_back_to_english(caplog):
    spec = next(spec for spec in i18n._SPECS if spec.code == "de")
    broken = i18n.Language(spec, translations({"Hello {name}": "Hallo {nme}", "{a} and {b}": "{a} und {b"}, "de"))
    with caplog.at_level(logging.ERROR, logger="bot.i18n"):
        assert broken.gettext("Hello {name}", name="Ana") == "Hello Ana"
        assert broken.gettext("{a} and {b}", a=1, b=2) == "1 and 2"
    assert "placeholders that do not fit" in caplog.text


def test_a_catalog_is_compiled_from_its_po_when_its_mo_is_missing_or_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    po_path, mo_path = i18n.catalog_path("de"), i18n.catalog_path("de", ".mo")
    po_path.parent.mkdir(parents=True)
    catalog = Catalog(locale="de")
    catalog.add("Hello", "Hallo")
    with open(po_path, "wb") as po:
        write_po(po, catalog)
    assert i18n.load_translations("de").gettext("Hello") == "Hallo"  # no .mo: from the .po
    stale = Catalog(locale="de")
    stale.add("Hello", "Servus")
    with open(mo_path, "wb") as mo:
        write_mo(mo, stale)
    assert i18n.load_translations("de").gettext("Hello") == "Servus"  # the .mo is newer
    po_path.touch()
    import os

    os.utime(mo_path, (1, 1))
    assert i18n.load_translations("de").gettext("Hello") == "Hallo"  # the .po changed since


def test_a_missing_or_broken_catalog_means_english(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    with caplog.at_level(logging.ERROR, logger="bot.i18n"):
        assert i18n.load_translations("es").gettext("Hello") == "Hello"
        i18n.catalog_path("ru").parent.mkdir(parents=True)
        i18n.catalog_path("ru").write_text('msgid "Hello"\nmsgstr "Привет"\nnot a keyword\n', encoding="utf-8")
        assert i18n.load_translations("ru").gettext("Hello") == "Hello"
    assert "Cannot load the es catalog" in caplog.text and "Cannot load the ru catalog" in caplog.text
