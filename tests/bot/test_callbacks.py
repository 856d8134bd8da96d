"""Inline buttons: what each carries in its callback data, and which survive a keyboard change."""

from __future__ import annotations

from bot import callbacks, i18n, messages

EN = i18n.english()


def texts_and_data(markup) -> list[list[tuple[str, str]]]:
    return [[(button.text, button.callback_data) for button in row] for row in markup.inline_keyboard]


def test_a_reading_of_one_line_has_no_line_button():
    markup = callbacks.reading_keyboard(EN, "ab12cd34", reading_id=9)
    assert texts_and_data(markup) == [
        [(messages.right_button(EN), "right:9"), (messages.wrong_button(EN), "wrong:9")],
        [(messages.saw_button(EN), "saw:ab12cd34")]]


def test_the_line_button_reads_the_next_line_and_comes_back_to_the_first():
    # two lines: the first reading's button reads line 1, line 1's reads line 0 again
    first = callbacks.reading_keyboard(EN, "ab12cd34", reading_id=9, other_lines=1)
    assert texts_and_data(first)[-1] == [(messages.saw_button(EN), "saw:ab12cd34"),
                                         ("Read the other line", "line:ab12cd34-1")]
    second = callbacks.reading_keyboard(EN, "ab12cd34", reading_id=10, line=1, other_lines=1)
    assert texts_and_data(second)[-1] == [(messages.saw_button(EN), "saw:ab12cd34-1"),
                                          ("Read the other line", "line:ab12cd34-0")]
    # three lines: "the next line", 1 -> 2 -> 0
    assert texts_and_data(callbacks.reading_keyboard(EN, "ab12cd34", line=1, other_lines=2))[-1][1] == (
        "Read the next line", "line:ab12cd34-2")
    last = callbacks.reading_keyboard(EN, "ab12cd34", line=2, other_lines=2)
    assert last.inline_keyboard[-1][1].callback_data == "line:ab12cd34-0"


def test_line_and_saw_arguments_parse_back():
    assert callbacks.parse_photo_line("ab12cd34-2") == ("ab12cd34", 2)
    assert callbacks.parse_photo_line("ab12cd34") == ("ab12cd34", 0)
    line = callbacks.PATTERNS[callbacks.LINE]
    assert line.match("line:ab12cd34-15").group(1) == "ab12cd34-15"
    assert line.match("line:ab12cd34") is None and line.match("line:ab12cd34--1") is None
    assert callbacks.PATTERNS[callbacks.SAW].match("saw:ab12cd34-1").group(1) == "ab12cd34-1"


def test_saw_and_line_buttons_stay_when_the_keyboard_changes():
    reading = callbacks.reading_keyboard(EN, "ab12cd34", reading_id=9, line=1, other_lines=1)
    kept = callbacks.kept_buttons_of(reading)
    assert [button.callback_data for button in kept] == ["saw:ab12cd34-1", "line:ab12cd34-0"]
    assert callbacks.saw_button_of(reading).callback_data == "saw:ab12cd34-1"
    keypad = callbacks.keypad(EN, 9, "4", kept)
    assert texts_and_data(keypad)[-1] == texts_and_data(reading)[-1]
    # after feedback: only the kept buttons
    assert texts_and_data(callbacks.feedback_keyboard(EN, None, kept)) == [texts_and_data(reading)[-1]]
    assert callbacks.feedback_keyboard(EN, None, []) is None
