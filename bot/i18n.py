"""The languages the bot speaks: gettext catalogs, Babel's number formats, and picking a language.

English is the language of the source (every text in ``bot/`` is an English msgid); the other
languages have a catalog each, ``bot/locales/<code>/LC_MESSAGES/digitbot.po``, compiled to
``.mo`` by ``make setup`` (and the Dockerfile). A catalog whose ``.mo`` is missing or older
than its ``.po`` is compiled in memory when first used, so a plain ``pip install`` or a
freshly edited ``.po`` works too. README.md ("Languages") says how to add a language.

Nothing here knows Telegram: :func:`from_language_code` takes the ``language_code`` string
that Telegram reports for a user, :func:`from_accept_language` a browser's header.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

logger = logging.getLogger(__name__)

#: Where the catalogs live: ``<code>/LC_MESSAGES/<DOMAIN>.po``, and the template ``<DOMAIN>.pot``.
LOCALES_DIR = Path(__file__).parent / "locales"
#: The gettext domain: the catalogs' file name.
DOMAIN = "digitbot"
#: The language of the source texts, and of everyone whose language the bot does not speak.
DEFAULT = "en"


@dataclass(frozen=True)
class _Spec:
    """A supported language: its catalog's code, its own name for itself, and the codes that pick it."""

    code: str
    name: str
    #: ISO 639-1 code for ``setMyCommands`` (Telegram's menus are per two-letter language); "" = everyone else.
    menu_code: str


#: The languages the bot speaks, in the order the /language buttons and the playground list them.
_SPECS = (
    _Spec("en", "English", ""),
    _Spec("ru", "Русский", "ru"),
    _Spec("es", "Español", "es"),
    _Spec("de", "Deutsch", "de"),
    _Spec("pt_BR", "Português (Brasil)", "pt"),
)
#: The codes of the supported languages, English first.
CODES: tuple[str, ...] = tuple(spec.code for spec in _SPECS)
#: A language tag's primary subtag (``"pt"`` of ``"pt-br"``) -> the supported language it picks.
_BY_PRIMARY = {spec.code.split("_")[0].lower(): spec.code for spec in _SPECS}


class Language:
    """One language's texts and number formats: what ``bot.messages`` writes with.

    Attributes:
        code: the catalog's code (``"en"``, ``"ru"``, ``"es"``, ``"de"``, ``"pt_BR"``).
        name: the language's name for itself (``"Deutsch"``), as the /language buttons show it.
        menu_code: the two-letter ``language_code`` its command menu is registered for, or
            ``""`` for English, whose menu is everyone else's too.
        locale: Babel's locale, for numbers.
    """

    def __init__(self, spec: _Spec, translations: gettext.NullTranslations) -> None:
        self.code = spec.code
        self.name = spec.name
        self.menu_code = spec.menu_code
        self.locale = Locale.parse(spec.code)
        self._translations = translations

    def __repr__(self) -> str:
        return f"Language({self.code!r})"

    @property
    def tag(self) -> str:
        """The IETF language tag (``"pt-BR"``), e.g. for an HTML page's ``lang``."""
        return self.code.replace("_", "-")

    def gettext(self, message: str, **values: object) -> str:
        """``message`` in this language, its ``{placeholders}`` filled with ``values`` (if any given).

        A msgid missing from the catalog comes back in English, and so does a translation
        whose placeholders do not fit (logged): a catalog's mistake never fails a reply.
        """
        text = self._translations.gettext(message)
        return self._fill(text, message, values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        """The form of ``singular``/``plural`` that goes with ``count`` in this language, filled in.

        ``{count}`` is filled with ``count`` formatted for the locale (``"1,234"``, ``"1 234"``)
        unless ``values`` gives it. Missing or broken translations as in :meth:`gettext`.
        """
        text = self._translations.ngettext(singular, plural, count)
        return self._fill(text, singular if count == 1 else plural, {"count": self.number(count), **values})

    def _fill(self, text: str, english: str, values: dict[str, object]) -> str:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            logger.error("The %s translation of %r has placeholders that do not fit; using English",
                         self.code, english)
            return english.format(**values)

    def number(self, value: float, decimals: int = 0) -> str:
        """``value`` with the locale's separators: ``1,234.5`` in English, ``1.234,5`` in German.

        Args:
            value: the number.
            decimals: digits after the decimal separator, always shown.
        """
        return _number_pattern(decimals, percent=False).apply(value, self.locale)

    def percent(self, fraction: float, decimals: int = 1) -> str:
        """A fraction in [0, 1] as a percentage: ``"98.7 %"`` in English, ``"98,7 %"`` in the others.

        Args:
            fraction: 0.987 for 98.7 %.
            decimals: digits after the decimal separator, always shown.
        """
        return _number_pattern(decimals, percent=True).apply(fraction, self.locale)


@functools.cache
def _number_pattern(decimals: int, percent: bool) -> NumberPattern:
    """Babel's pattern for a number with ``decimals`` digits after the separator (``"98.7 %"`` if
    ``percent``), parsed once: parsing is most of the time of formatting a number."""
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals else "") + (" %" if percent else ""))


def catalog_path(code: str, suffix: str = ".po") -> Path:
    """The catalog file of language ``code``: its ``.po`` (the source) or, with ``suffix=".mo"``, compiled."""
    return LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def load_translations(code: str) -> gettext.NullTranslations:
    """The translations of ``code`` from its compiled ``.mo``, or compiled now from its ``.po``.

    The ``.mo`` is used when it is at least as new as the ``.po``. English, and a language
    whose catalog cannot be read (logged), get the English source texts.
    """
    if code == DEFAULT:
        return gettext.NullTranslations()
    po_path, mo_path = catalog_path(code), catalog_path(code, ".mo")
    try:
        if mo_path.is_file() and (not po_path.is_file() or mo_path.stat().st_mtime >= po_path.stat().st_mtime):
            with open(mo_path, "rb") as compiled:
                return gettext.GNUTranslations(compiled)
        # Not compiled yet (an install without `make setup`), or the .po changed since: compile it here.
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with open(po_path, "rb") as source:
            catalog = read_po(source, locale=code, abort_invalid=True)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)  # fuzzy entries left out, as `pybabel compile` does
        buffer.seek(0)
        logger.debug("Compiled %s in memory (no up-to-date .mo beside it)", po_path)
        return gettext.GNUTranslations(buffer)
    except Exception:  # a broken catalog must not take the bot down: that language falls back on English
        logger.exception("Cannot load the %s catalog; its users get English", code)
        return gettext.NullTranslations()


@functools.cache
def get(code: str) -> Language:
    """The supported language ``code`` (one of :data:`CODES`), its catalog loaded once.

    Raises:
        KeyError: ``code`` is not supported (see :func:`find` for untrusted input).
    """
    spec = next((spec for spec in _SPECS if spec.code == code), None)
    if spec is None:
        raise KeyError(f"unsupported language {code!r}")
    return Language(spec, load_translations(code))


def find(code: object) -> Language | None:
    """The supported language whose code is exactly ``code``, or None (for stored or tapped codes)."""
    return get(code) if isinstance(code, str) and code in CODES else None


def english() -> Language:
    """The default language: English."""
    return get(DEFAULT)


def supported() -> tuple[Language, ...]:
    """Every supported language, English first."""
    return tuple(get(code) for code in CODES)


def match(tag: object) -> Language | None:
    """The supported language for a language tag (``"ru"``, ``"pt-BR"``, ``"de_AT"``, ``"es-419"``), or None.

    Only the primary subtag counts: ``pt``, ``pt-br`` and ``pt-pt`` all pick Brazilian
    Portuguese, the closest the bot speaks; ``es-419`` picks Spanish.
    """
    if not isinstance(tag, str):
        return None
    primary = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    code = _BY_PRIMARY.get(primary)
    return get(code) if code else None


def from_language_code(language_code: str | None) -> Language:
    """The language for a Telegram user's ``language_code``: :func:`match`, else English."""
    return match(language_code) or english()


def from_accept_language(header: str | None) -> Language:
    """The language for a browser's ``Accept-Language`` header: the first supported one by
    preference (``q``), else English. Malformed parts are skipped.

    Example:
        ``"de-CH, fr;q=0.9, en;q=0.8"`` -> German.
    """
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, *parameters = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # a malformed weight: skip the language rather than guess
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        language = match(tag)
        if language is not None:
            return language
    return english()
