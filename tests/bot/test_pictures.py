"""The pictures the bot sends, labelled in the user's language."""

from __future__ import annotations

import numpy as np
import pytest
from bot_fakes import digit_photo
from figure_texts import texts_drawn

from bot import i18n
from bot.pictures import render_confusion_matrix_png, render_steps_png, segmentation_note, steps_texts
from core.classifier import FAINT_NOTE, SILENT_LINE_NOTE, OTHER_LINE_NOTE
from core.preprocessing import Segmentation
from core.results import PhotoReading
from core.visualize import StepsTexts, steps_notes


def test_segmentation_notes_are_translated_and_unknown_ones_kept():
    russian = i18n.get("ru")
    assert segmentation_note(russian, "a mark cut into 2 digits by recognition") == (
        "знак разрезан по распознаванию на 2 цифры")
    assert segmentation_note(i18n.english(), "a mark cut into 3 digits by recognition") == (
        "a mark cut into 3 digits by recognition")
    assert segmentation_note(russian, "something new") == "something new"


def test_every_note_recognition_writes_is_translated():
    # the notes as core.classifier and core.preprocessing.hypotheses write them
    notes = {"a straight stroke erased from a mark by recognition": None,
             "1 mark read as not a digit, left out": "1", "3 marks read as not a digit, left out": "3",
             "1 stroke beside a digit joined to it by recognition": "1",
             "2 strokes beside digits joined to them by recognition": "2",
             "no mark read as a digit; the number reader read 470": "470",
             "segmentation found no digit; the number reader read 12027 in the whole photo": "12027",
             OTHER_LINE_NOTE.format(count=2, number="19361"): "19361", FAINT_NOTE: None,
             SILENT_LINE_NOTE: None}
    for code in ("de", "es", "pt_BR", "ru"):
        for note, number in notes.items():
            translated = segmentation_note(i18n.get(code), note)
            assert translated != note and (number is None or number in translated), (code, note)
    assert segmentation_note(i18n.get("ru"), "3 marks read as not a digit, left out") == (
        "3 знака прочитаны как не цифры, пропущены")
    assert segmentation_note(i18n.english(), "1 mark read as not a digit, left out") == (
        "1 mark read as not a digit, left out")
    assert segmentation_note(i18n.get("de"), "2 strokes beside digits joined to them by recognition") == (
        "2 Striche neben Ziffern per Erkennung mit ihnen verbunden")
    assert segmentation_note(i18n.get("ru"), OTHER_LINE_NOTE.format(count=5, number="8")) == (
        "5 строк текста: эта прочитана увереннее; самая высокая прочитана как 8")
    assert segmentation_note(i18n.english(), OTHER_LINE_NOTE.format(count=2, number="8")) == (
        OTHER_LINE_NOTE.format(count=2, number="8"))


def read_line(method: str, line_text: str | None, runner_up: str = "") -> tuple[PhotoReading, Segmentation]:
    """A reading (no digits) of a line tilted 7.6° with a mark re-cut, as the number reader read it."""
    empty = np.zeros((1, 1), np.uint8)
    segmentation = Segmentation(gray=empty, ink=empty.astype(np.float32), mask=empty, tilt=7.6,
                                notes=("a mark cut into 3 digits by recognition",))
    return PhotoReading(digits=(), method=method, line_text=line_text, runner_up=runner_up), segmentation


def test_what_i_saw_notes_are_in_the_language():
    german = steps_texts(i18n.get("de"))
    assert german.other_lines(1) == "1 weitere Zeile Schrift, nicht gelesen (grau auf dem Foto)"
    assert steps_texts(i18n.get("ru")).other_lines(2) == "ещё 2 строки текста, не прочитаны (серым на фото)"
    assert steps_texts(i18n.english()).other_lines(3) == StepsTexts().other_lines(3)
    tilt_and_cut = ["Zeile um 8° geneigt: jede Ziffer aufgerichtet",
                    "ein Zeichen per Erkennung in 3 Ziffern geteilt"]
    assert steps_notes(*read_line("both", "42"), german) == [
        *tilt_and_cut, "auch als ganze Zeile gelesen: 42, dasselbe"]
    assert steps_notes(*read_line("line", "47", "42"), german) == [
        *tilt_and_cut, "als ganze Zeile gelesen: 47, genommen; Ziffer für Ziffer: 42"]
    digits_given = steps_notes(*read_line("digits", ""), german)[-1]
    assert digits_given.startswith("als ganze Zeile gelesen: -; Ziffer für Ziffer:")
    assert steps_notes(*read_line("digits", None), german) == tilt_and_cut


@pytest.mark.parametrize(("method", "line_text", "runner_up"),
                         [("both", "42", ""), ("line", "47", "42"), ("line", "47", ""), ("digits", "", "")])
def test_english_notes_are_core_visualize_s(method, line_text, runner_up):
    reading, segmentation = read_line(method, line_text, runner_up)
    english = steps_notes(reading, segmentation, steps_texts(i18n.english()))
    assert english == steps_notes(reading, segmentation)


@pytest.mark.parametrize(("code", "confidence", "runner_up"),
                         [("en", "99.2 %", "9: 1 %"), ("de", "99,2 %", "9: 1 %"), ("ru", "99,2 %", "9: 1 %")])
def test_what_i_saw_numbers_are_in_the_language(code, confidence, runner_up):
    texts = steps_texts(i18n.get(code))
    assert texts.confidence(0.992) == confidence
    assert texts.runner_up(9, 0.012) == runner_up


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
