"""The pictures the bot sends, labelled in the user's language."""

from __future__ import annotations

import pytest
from bot_fakes import digit_photo
from matplotlib.figure import Figure

from bot import i18n
from bot.pictures import render_confusion_matrix_png, render_steps_png, segmentation_note


def test_segmentation_notes_are_translated_and_unknown_ones_kept():
    russian = i18n.get("ru")
    assert segmentation_note(russian, "a mark cut into 2 digits by recognition") == (
        "знак разрезан по распознаванию на 2 цифры")
    assert segmentation_note(i18n.english(), "a mark cut into 3 digits by recognition") == (
        "a mark cut into 3 digits by recognition")
    assert segmentation_note(russian, "something new") == "something new"


def texts_drawn(monkeypatch) -> list[str]:
    """Collect every text Matplotlib draws into figures from now on."""
    drawn: list[str] = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        drawn.extend(text.get_text() for text in self.findobj(lambda artist: hasattr(artist, "get_text")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return drawn


def test_what_i_saw_is_labelled_in_the_language(real_model, monkeypatch):
    drawn = texts_drawn(monkeypatch)
    reading, segmentation = real_model.read_photo_with_steps(digit_photo("42"))
    png = render_steps_png(reading, segmentation, i18n.get("de"))
    assert png.startswith(b"\x89PNG")
    assert "Was ich gesehen habe: Die 28x28-Bilder sind genau das, was das Modell gelesen hat" in drawn
    assert f"3. gefundene Ziffern: {reading.number}" in drawn
    first = reading.digits[0]
    assert f"{first.digit} ({i18n.get('de').percent(first.confidence)})" in "\n".join(drawn)  # "4 (99,9 %)"
    assert not any("What I saw" in text for text in drawn)


def test_confusion_matrix_is_labelled_in_the_language(monkeypatch):
    drawn = texts_drawn(monkeypatch)
    matrix = [[90 if row == column else 1 for column in range(10)] + [2] for row in range(10)]
    png = render_confusion_matrix_png(matrix, i18n.get("es"))
    assert png.startswith(b"\x89PNG")
    assert "Matriz de confusión — precisión 89,11 % en 1.010 imágenes" in drawn
    assert {"Dígito predicho", "Dígito real", "ninguno", "90"} <= set(drawn)


@pytest.mark.parametrize("matrix", [[], [1, 2, 3], [[[1]]]])
def test_a_matrix_that_is_no_table_is_refused(matrix):
    with pytest.raises(ValueError):
        render_confusion_matrix_png(matrix, i18n.english())
