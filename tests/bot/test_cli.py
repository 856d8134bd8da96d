"""``digitbot predict`` as a user runs it: files in, one line (or JSON object) per file out."""

from __future__ import annotations

import json
from pathlib import Path

from photos import handwritten, number_photo, paper, place_digits, to_jpeg

from bot.cli import main


def test_predict_writes_one_steps_picture_per_file_even_with_the_same_name(tmp_path, capsys):
    for folder, text in (("a", "47"), ("b", "305")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "photo.jpg").write_bytes(number_photo(text))
    (tmp_path / "notes.jpg").write_bytes(b"not an image")
    files = [str(tmp_path / "a" / "photo.jpg"), str(tmp_path / "b" / "photo.jpg"), str(tmp_path / "notes.jpg")]
    assert main(["predict", "--json", "--show", str(tmp_path / "show"), *files]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("number") for line in lines] == ["47", "305", None]
    assert lines[2]["error"].startswith("That file isn't an image I can open") and "steps_png" not in lines[2]
    pictures = [tmp_path / "show" / "photo.steps.png", tmp_path / "show" / "photo-2.steps.png"]
    assert [line["steps_png"] for line in lines[:2]] == [str(picture) for picture in pictures]
    assert all(picture.read_bytes().startswith(b"\x89PNG") for picture in pictures)
    assert sorted(path.name for path in (tmp_path / "show").iterdir()) == ["photo-2.steps.png", "photo.steps.png"]


def test_predict_show_naming_a_file_says_so_and_leaves_it(tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(number_photo("47"))
    assert main(["predict", "--show", str(photo), str(photo)]) == 2
    captured = capsys.readouterr()
    assert "--show needs a folder" in captured.err and "Traceback" not in captured.err
    assert captured.out == "" and photo.read_bytes().startswith(b"\xff\xd8")


def test_predict_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path):
    """``digitbot predict --json *.jpg | head -c 1``: no traceback when the pipe closes."""
    import subprocess
    import sys

    photos = []
    for index in range(40):
        photo = tmp_path / f"photo_{index}.jpg"
        photo.write_bytes(number_photo("47"))
        photos.append(str(photo))
    digitbot = subprocess.Popen([sys.executable, "-m", "bot.cli", "predict", "--json", *photos],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert digitbot.stdout.read(1) == b"{"
    digitbot.stdout.close()  # the reader goes away after one byte, as `head -c 1` does
    _, errors = digitbot.communicate(timeout=120)
    assert digitbot.returncode == 141
    assert b"Traceback" not in errors and b"BrokenPipeError" not in errors


def test_a_disagreement_line_gives_both_readings_and_how_likely_each_is():
    import dataclasses

    import numpy as np

    from bot.cli import _format_reading
    from core.results import DigitPrediction, PhotoReading

    digits = tuple(DigitPrediction(digit=d, confidence=0.9, top3=((d, 0.9), (7, 0.05), (1, 0.05)),
                                   probabilities=np.full(10, 0.01, np.float32), image=np.zeros((28, 28), np.float32))
                   for d in (4, 2))
    reading = dataclasses.replace(PhotoReading(digits=digits, width=100, height=50), method="line", line_text="42",
                                  runner_up="412", runner_up_confidence=0.09, number_confidence=0.58)
    line = _format_reading(reading)
    assert line.startswith("42  4 (90.0%; next: 7 5.0%, 1 5.0%)")
    assert line.endswith("[the line reader and the digits disagree: 42 58.0% likely, 412 9.0%]")
    silent = dataclasses.replace(reading, method="digits", line_text="", runner_up="", number_confidence=None)
    assert _format_reading(silent).endswith("[the line reader read no digit here: perhaps no digit at all]")
    assert "no digit here" not in line


def test_predict_says_why_no_digit_was_read_and_shows_what_it_saw(tmp_path, capsys):
    import cv2
    import numpy as np

    blank = tmp_path / "blank.jpg"
    blank.write_bytes(cv2.imencode(".jpg", np.full((480, 640), 236, np.uint8))[1].tobytes())
    assert main(["predict", "--json", "--show", str(tmp_path / "show"), str(blank)]) == 1
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["reason"] == "blank"
    assert line["error"].startswith("I couldn't find a handwritten digit in that picture. "
                                    "I found no ink: the picture looks blank to me. Make sure the digit is in the "
                                    "picture, written dark enough to see.")
    assert line["steps_png"] == str(tmp_path / "show" / "blank.steps.png")
    assert (tmp_path / "show" / "blank.steps.png").read_bytes().startswith(b"\x89PNG")
    assert main(["predict", str(blank)]) == 1  # the same words as plain text, no picture without --show
    assert capsys.readouterr().out.startswith(f"{blank}: I couldn't find a handwritten digit in that picture. I found")


def test_predict_every_line_reads_each_line_of_a_photo(tmp_path, capsys):
    # "3572" above "814", and a photo of one line beside it
    page = paper(960, 1280)
    page = place_digits(page, [handwritten(d, 1) for d in (3, 5, 7, 2)], height=160, left=200, top=150)
    two_lines = tmp_path / "two.jpg"
    below = [handwritten(d, 2) for d in (8, 1, 4)]
    two_lines.write_bytes(to_jpeg(place_digits(page, below, height=150, left=220, top=560)))
    one_line = tmp_path / "one.jpg"
    one_line.write_bytes(number_photo("47"))
    assert main(["predict", str(two_lines)]) == 0
    flagged = "[1 more line(s) of writing not read; --every-line reads them]"
    assert capsys.readouterr().out.rstrip().endswith(flagged)
    assert main(["predict", "--every-line", "--json", "--show", str(tmp_path / "show"), str(two_lines),
                 str(one_line)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["number"], line.get("line"), line["other_lines"]) for line in lines] == [
        ("3572", 0, 1), ("814", 1, 1), ("47", None, 0)]
    assert [Path(line["steps_png"]).name for line in lines] == [
        "two.steps.png", "two.line2.steps.png", "one.steps.png"]
    assert main(["predict", "--every-line", str(two_lines)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in out] == [
        f"{two_lines} [line 1 of 2]", f"{two_lines} [line 2 of 2]"]
    assert "not read" not in out[0]
