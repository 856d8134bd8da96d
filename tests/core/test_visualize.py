""""What I saw": the notes under the boxes, and the texts drawn (English unless told otherwise)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from figure_texts import texts_drawn

from core.preprocessing import Segmentation
from core.results import DigitPrediction, PhotoReading
from core.visualize import PANEL_SIZE, StepsTexts, digits_region, render_steps_png, steps_notes


def photo_of_42(tilt: float = -7.6, notes: tuple[str, ...] = ("a mark cut into 2 digits by recognition",),
                **reading_fields) -> tuple[PhotoReading, Segmentation]:
    """A made-up reading of "42" (the 2 unsure) and its segmentation: no model needed."""
    gray = np.full((120, 200), 230, np.uint8)
    mask = np.zeros_like(gray)
    segmentation = Segmentation(gray=gray, ink=mask.astype(np.float32), mask=mask, tilt=tilt, notes=notes,
                                working_boxes=[(20, 30, 40, 60), (110, 30, 40, 60)])
    digits = tuple(
        DigitPrediction(digit=digit, confidence=confidence,
                        top3=((digit, confidence), (9, 0.012), (8, 0.004)),
                        probabilities=np.zeros(10, np.float32), image=np.zeros((28, 28), np.float32))
        for digit, confidence in [(4, 0.992), (2, 0.55)])
    return PhotoReading(digits=digits, **reading_fields), segmentation


@pytest.mark.parametrize(("reading_fields", "reader_note"), [
    ({}, []),
    ({"method": "both", "line_text": "42"}, ["read as a whole line too: 42, the same"]),
    ({"method": "line", "line_text": "47", "runner_up": "42"},
     ["read as a whole line: 47, given; digit by digit: 42"]),
    ({"method": "line", "line_text": "47"}, ["read as a whole line: 47, given; digit by digit: -"]),
    ({"method": "digits", "line_text": ""}, ["read as a whole line: -; digit by digit: 42, given"]),
], ids=["no-line-reader", "both", "line", "line-alone", "digits"])
def test_notes_say_the_tilt_the_recuts_and_what_the_line_reader_read(reading_fields, reader_note):
    reading, segmentation = photo_of_42(**reading_fields)
    assert steps_notes(reading, segmentation) == [
        "line tilted 8°: each digit turned upright", "a mark cut into 2 digits by recognition", *reader_note]


def test_a_level_line_with_nothing_recut_has_no_notes():
    assert steps_notes(*photo_of_42(tilt=0.0, notes=())) == []


def test_further_lines_of_writing_are_noted_and_outlined_in_grey(monkeypatch):
    reading, segmentation = photo_of_42(tilt=0.0, notes=())
    two_more = dataclasses.replace(segmentation, other_lines=((20, 95, 150, 20), (20, 5, 60, 20)))
    assert steps_notes(reading, two_more) == ["2 more lines of writing, not read (grey on the photo)"]
    one_more = dataclasses.replace(segmentation, other_lines=((20, 95, 150, 20),))
    assert steps_notes(reading, one_more, StepsTexts(other_lines="OTHER {}".format)) == ["OTHER 1"]
    shown = {}

    def keep_photo(panels, title, notes, extra_height):
        shown["photo"] = panels[0][0]
        raise RuntimeError("enough")

    monkeypatch.setattr("core.visualize._figure_with_panels", keep_photo)
    with pytest.raises(RuntimeError):
        render_steps_png(reading, one_more)
    photo = shown["photo"]
    assert tuple(photo[95, 90]) == (150, 150, 150) and tuple(photo[60, 90]) == (230, 230, 230)


def test_what_i_saw_is_drawn_in_english_by_default(monkeypatch):
    drawn = texts_drawn(monkeypatch)
    png = render_steps_png(*photo_of_42(method="both", line_text="42"))
    assert png.startswith(b"\x89PNG")
    assert {
        "What I saw: the 28x28 images are exactly what the model read",
        "1. photo (grayscale)", "2. ink kept (lines, specks removed)", "3. digits found: 42",
        "line tilted 8°: each digit turned upright\na mark cut into 2 digits by recognition\n"
        "read as a whole line too: 42, the same",
        "4 (99.2%)\n9:1%, 8:0%", "2 (55.0%)\n9:1%, 8:0%",
    } <= set(drawn)


def test_what_i_saw_is_drawn_with_the_texts_given(monkeypatch):
    drawn = texts_drawn(monkeypatch)
    texts = StepsTexts(
        title="SEEN", line_title="LINE SEEN", photo="PHOTO", ink="INK", digits_found="FOUND {}".format, tilt="TILT {:.1f}".format,
        segmentation_note=str.upper, line_same="SAME {}".format, line_given="LINE {} / {}".format,
        digits_given="DIGITS {} / {}".format, confidence="{:.3f}".format, runner_up="{}={:.2f}".format)
    render_steps_png(*photo_of_42(method="line", line_text="47", runner_up="42"), texts)
    assert {"LINE SEEN", "PHOTO", "INK", "FOUND 42", "4 (0.992)\n9=0.01, 8=0.00", "2 (0.550)\n9=0.01, 8=0.00",
            "TILT 7.6\nA MARK CUT INTO 2 DIGITS BY RECOGNITION\nLINE 47 / 42"} <= set(drawn)
    assert not any("What I saw" in text or "digits found" in text for text in drawn)


def _blank_jpeg() -> bytes:
    import cv2

    return cv2.imencode(".jpg", np.full((480, 640), 236, np.uint8))[1].tobytes()


def test_what_i_saw_without_a_digit_shows_the_photo_its_ink_and_why(monkeypatch):
    from core.errors import NoDigitFoundError
    from core.visualize import render_no_digit_png

    drawn = texts_drawn(monkeypatch)
    png = render_no_digit_png(_blank_jpeg(), NoDigitFoundError(reason="blank"))
    assert png.startswith(b"\x89PNG")
    assert struct_size(png)[0] == 1100 and 300 < struct_size(png)[1] < 500  # one row of 4:3 panels
    assert {"What I saw: no handwritten digit", "1. photo (grayscale)",
            "2. ink found (every stroke darker than the paper)", "3. why no digit was read",
            "I found no ink: the picture looks blank to me."} <= {text.replace("\n", " ") for text in drawn}


def test_what_i_saw_without_a_digit_is_drawn_with_the_texts_given(monkeypatch):
    from core.errors import NoDigitFoundError
    from core.visualize import render_no_digit_png

    drawn = texts_drawn(monkeypatch)
    texts = StepsTexts(photo="PHOTO", no_digit_title="NOTHING", ink_found="INK", no_digit="WHY",
                       no_digit_reason=str.upper)
    render_no_digit_png(_blank_jpeg(), NoDigitFoundError(reason="small"), texts)
    assert {"NOTHING", "PHOTO", "INK", "WHY", "SMALL"} <= set(drawn)
    assert not any("What I saw" in text or "too small" in text for text in drawn)
    drawn.clear()
    render_no_digit_png(_blank_jpeg(), NoDigitFoundError(), texts)  # no reason given: no sentence
    assert "NOTHING" in drawn and not [text for text in drawn if text not in {"NOTHING", "PHOTO", "INK", "WHY", ""}]


def struct_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    import struct

    return struct.unpack(">II", png[16:24])


def figures_saved(monkeypatch) -> list:
    """Collect every Matplotlib figure saved from now on, to look at its axes."""
    from matplotlib.figure import Figure

    saved = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        saved.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved


def photo_panels(figure) -> list:
    """The three photo panels' axes boxes (in figure fractions), in the order drawn."""
    return [axes.get_position() for axes in figure.axes[:3]]


def test_the_digits_region_is_the_boxes_with_a_margin_widened_and_clipped():
    # Two 40x60 digits: a margin of 30 px (half the tallest) on every side.
    assert digits_region([(100, 200, 40, 60), (160, 205, 40, 60)], (960, 1280)) == (70, 170, 230, 295)
    # A lone narrow "1" (10x60, with margins 70x120) is widened to 90x120 (3:4), evenly on both sides.
    assert digits_region([(100, 200, 10, 60)], (960, 1280)) == (60, 170, 150, 290)
    # Clipped to the photo; a small box still gets 12 px.
    assert digits_region([(2, 3, 10, 16)], (40, 200)) == (0, 0, 24, 31)
    assert digits_region([], (40, 200)) == (0, 0, 200, 40)


def test_a_number_small_in_a_phone_photo_is_zoomed_on_and_outlined(monkeypatch):
    saved = figures_saved(monkeypatch)
    reading, segmentation = photo_of_42()
    gray = np.full((960, 1280), 230, np.uint8)
    segmentation = dataclasses.replace(segmentation, gray=gray, mask=np.zeros_like(gray),
                                       working_boxes=[(600, 450, 40, 60), (660, 452, 40, 60)])
    render_steps_png(reading, segmentation)
    photo, _, found = (axes.images[0].get_array() for axes in saved[0].axes[:3])
    # Panel 3 shows the region around the boxes (160 x 122 px) at PANEL_SIZE wide, with a band
    # for the labels above; panel 1 outlines that region in blue on the grey photo.
    assert found.shape[1] == PANEL_SIZE and found.shape[0] == round(122 * PANEL_SIZE / 160) + 34
    assert (found[:, :, 1] > found[:, :, 0]).any()  # green boxes drawn
    assert photo.ndim == 3 and (photo[:, :, 2] > photo[:, :, 0] + 100).any()


def test_panels_sit_side_by_side_for_a_photo_and_stack_for_a_number_strip(monkeypatch):
    saved = figures_saved(monkeypatch)
    render_steps_png(*photo_of_42())  # a 200x120 photo
    side_by_side = photo_panels(saved[-1])
    assert [box.y1 for box in side_by_side] == pytest.approx([side_by_side[0].y1] * 3)  # tops in line
    assert side_by_side[0].x1 < side_by_side[1].x0 < side_by_side[1].x1 < side_by_side[2].x0

    reading, segmentation = photo_of_42()
    strip = np.full((80, 600), 230, np.uint8)  # a cropped number strip, 7.5:1
    segmentation = dataclasses.replace(segmentation, gray=strip, mask=np.zeros_like(strip),
                                       working_boxes=[(100, 10, 40, 60), (460, 10, 40, 60)])
    render_steps_png(reading, segmentation)
    stacked = photo_panels(saved[-1])
    assert stacked[0].y0 > stacked[1].y1 and stacked[1].y0 > stacked[2].y1  # one under the other
    assert all(box.width > 0.5 for box in stacked)  # each at least half the figure's width
    digit_inputs = saved[-1].axes[3:]
    assert len(digit_inputs) == 2 and max(axes.get_position().y1 for axes in digit_inputs) < stacked[2].y0


def test_without_a_digit_a_number_strip_gets_its_panels_stacked_and_the_reason_in_a_band(monkeypatch):
    import cv2

    from core.errors import NoDigitFoundError
    from core.visualize import render_no_digit_png

    saved = figures_saved(monkeypatch)
    strip = cv2.imencode(".jpg", np.full((80, 640), 236, np.uint8))[1].tobytes()
    png = render_no_digit_png(strip, NoDigitFoundError(reason="blank"))
    photo, ink, why = photo_panels(saved[-1])
    assert photo.y0 > ink.y1 and ink.y0 > why.y1 and photo.width > 0.5
    assert why.height * struct_size(png)[1] == pytest.approx(80, abs=2)  # a 0.8 in band at 100 dpi


def test_a_line_reading_says_the_number_reader_read_the_line_not_the_28x28_images(monkeypatch):
    drawn = texts_drawn(monkeypatch)
    render_steps_png(*photo_of_42(method="line", line_text="42"))
    assert "What I saw: the number reader read the whole line; below, each digit's ink" in drawn
    assert not any("exactly what the model read" in text for text in drawn)
    drawn.clear()
    render_steps_png(*photo_of_42(method="both", line_text="42"), StepsTexts(line_title="LINE"))
    assert "LINE" not in drawn
