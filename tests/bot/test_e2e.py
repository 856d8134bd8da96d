"""End to end: the real Application, polling the local Bot API server over HTTP, reading real photos.

The classifier (fixtures ``classifier`` and ``real_model`` in conftest.py) is the trained model
when it exists, otherwise a FakeClassifier told the right answers, so the Telegram side is
still exercised. Tests that need the real model skip without it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re

import numpy as np
import pytest

from core.config import NOT_A_DIGIT_LABEL, Settings
from core.errors import NoDigitFoundError, UnreadableImageError
from core.registry import INITIAL, PROMOTED, ModelRegistry

from bot import callbacks, i18n, messages
from bot.app import build_application
from bot.context import get_services
from bot.local_api import LocalBotApi, SentMessage
from bot.log import configure_logging
from bot.main import load_active_classifier, running
from bot.ratelimit import BotLimits
from bot.store import DATABASE_FILENAME, FeedbackStatus, FeedbackStore

from bot_fakes import TINY_PDF, TOKEN, blank_photo, digit_photo, expect, png_of
from photos import handwritten, paper, place_digits, to_jpeg
from retrain_data import write_always_model

EN = i18n.english()

pytestmark = pytest.mark.e2e

USER, ADMIN = 1001, 7


@pytest.fixture
async def api():
    """A local Bot API server accepting :data:`TOKEN`."""
    async with LocalBotApi(TOKEN) as server:
        yield server


def read_digit(reply) -> int:
    """The digit a one-digit reply names ("It's a 7 — ..." or "I think it's a 7, but ...")."""
    return int(re.match(r"(?:It's|I think it's) an? (\d)", reply.text).group(1))


def button(reply, label: str) -> str:
    """The callback data of the button ``label`` of ``reply``."""
    return dict(reply.buttons)[label]


async def tap(api: LocalBotApi, reply: SentMessage, label: str) -> str | None:
    """Tap ``label`` under ``reply``, wait for the bot's answer and its edit; returns the answer's toast.

    Fails at once when the bot answers the tap with "slow down" (it would not edit the reply).
    """
    edits = reply.edits
    answer = await api.callback_answer(api.press_button(USER, reply, button(reply, label)))
    assert answer.text != messages.slow_down_taps(EN), f"the tap on {label!r} was rate limited"
    if reply.edits == edits:  # not edited yet (next_edit waits for one more edit than there is now)
        await api.next_edit(reply)
    return answer.text


async def test_start_registers_commands_and_greets(api, bot):
    api.send_command(USER, "start")
    (reply,) = await api.next_messages(USER)
    assert reply.text == messages.start_text(EN)
    assert [command["command"] for command in api.commands] == [
        "start", "help", "stats", "model", "language", "forgetme"]


async def test_text_and_unknown_command_get_hints(api, bot):
    api.send_text(USER, "hello")
    api.send_command(USER, "frobnicate")
    first, second = await api.next_messages(USER, count=2)
    assert {first.text, second.text} == {messages.send_a_photo(EN), messages.help_text(EN)}


async def test_photo_of_a_digit_is_read(api, bot, classifier):
    api.send_photo(USER, expect(classifier, digit_photo("7"), "7"))
    (reply,) = await api.next_messages(USER)
    assert reply.text.startswith("It's a 7 — ")
    assert [label for label, _ in reply.buttons] == [
        messages.right_button(EN), messages.wrong_button(EN), messages.saw_button(EN)]


async def test_what_i_saw_sends_the_steps_picture(api, bot, real_model):
    api.send_photo(USER, digit_photo("5"))
    (reply,) = await api.next_messages(USER)
    query_id = api.press_button(USER, reply, button(reply, messages.saw_button(EN)))
    (steps,) = await api.next_messages(USER, timeout=20)
    assert steps.method == "sendPhoto"
    assert steps.photo.startswith(b"\x89PNG")
    assert [answer.callback_query_id for answer in api.callback_answers] == [query_id]


async def test_a_photo_with_two_lines_reads_the_other_on_a_tap(api, bot, real_model):
    # "3572" above "814": the reply reads one line and offers the other; the tap answers with
    # it, under which the button goes back to the first, and "What I saw" shows that line.
    page = paper(960, 1280)
    page = place_digits(page, [handwritten(d, 1) for d in (3, 5, 7, 2)], height=160, left=200, top=150)
    below = [handwritten(d, 2) for d in (8, 1, 4)]
    api.send_photo(USER, to_jpeg(place_digits(page, below, height=150, left=220, top=560)))
    (reply,) = await api.next_messages(USER)
    assert reply.text.splitlines()[0] == "I read 3572"
    assert reply.text.splitlines()[-1] == (
        "I read one line; this photo has 1 more line of writing. Tap “Read the other line” to read it.")
    api.press_button(USER, reply, button(reply, "Read the other line"))
    (other,) = await api.next_messages(USER, timeout=20)
    assert other.text.splitlines()[0] == "I read 814" and "1 more line of writing" in other.text
    assert [label for label, _ in other.buttons] == [
        messages.right_button(EN), messages.wrong_button(EN), messages.saw_button(EN), "Read the other line"]
    api.press_button(USER, other, button(other, "Read the other line"))
    (again,) = await api.next_messages(USER, timeout=20)
    assert again.text.splitlines()[0] == "I read 3572"
    api.press_button(USER, other, button(other, messages.saw_button(EN)))
    (steps,) = await api.next_messages(USER, timeout=20)
    assert steps.method == "sendPhoto" and steps.photo.startswith(b"\x89PNG")
    # Right on the second line's reading is taken as on any reading
    assert await tap(api, other, messages.right_button(EN)) == messages.feedback_thanks(EN)
    assert [label for label, _ in other.buttons] == [messages.saw_button(EN), "Read the other line"]
    assert get_services(bot).photos_read == 1  # one photo, however many of its lines were read


async def test_multi_digit_photo(api, bot, classifier):
    api.send_photo(USER, expect(classifier, digit_photo("42"), "42"))
    (reply,) = await api.next_messages(USER)
    assert reply.text.splitlines()[0] == "I read 42"
    assert len(reply.text.splitlines()) >= 3


async def test_image_sent_as_document(api, bot, classifier):
    data = expect(classifier, png_of(digit_photo("3")), "3")
    api.send_document(USER, data, file_name="three.png", mime_type="image/png")
    (reply,) = await api.next_messages(USER)
    assert reply.text.startswith("It's a 3 — ")


async def test_pdf_document_gets_send_a_photo(api, bot):
    api.send_document(USER, TINY_PDF, file_name="digits.pdf", mime_type="application/pdf")
    (reply,) = await api.next_messages(USER)
    assert reply.text == messages.not_an_image_document(EN)
    assert "getFile" not in api.requests


async def test_corrupt_jpeg_gets_friendly_explanation(api, bot):
    corrupt = b"\xff\xd8\xff\xe0" + os.urandom(5000)
    api.send_document(USER, corrupt, file_name="broken.jpg", mime_type="image/jpeg")
    (reply,) = await api.next_messages(USER)
    assert reply.text == messages.format_image_error(EN, UnreadableImageError())


async def test_blank_page_says_no_digit(api, bot, classifier):
    api.send_photo(USER, expect(classifier, blank_photo(), NoDigitFoundError(reason="blank")))
    (reply,) = await api.next_messages(USER)
    assert reply.text == messages.format_image_error(EN, NoDigitFoundError(reason="blank"))


async def test_what_i_saw_on_a_blank_page_shows_its_ink_and_why(api, bot, real_model):
    api.send_photo(USER, blank_photo())
    (reply,) = await api.next_messages(USER, timeout=20)
    assert reply.text == messages.format_image_error(EN, NoDigitFoundError(reason="blank"))
    assert "I found no ink: the picture looks blank to me." in reply.text
    assert [label for label, _ in reply.buttons] == [messages.saw_button(EN)]
    api.press_button(USER, reply, button(reply, messages.saw_button(EN)))
    (steps,) = await api.next_messages(USER, timeout=20)
    assert steps.method == "sendPhoto" and steps.photo.startswith(b"\x89PNG")
    assert steps.text == messages.saw_no_digit_caption(EN)


async def test_file_over_20_mb_is_refused_before_download(api, bot):
    api.send_document(USER, b"\xff\xd8", file_name="huge.jpg", mime_type="image/jpeg", file_size=25 * 1024 * 1024)
    (reply,) = await api.next_messages(USER)
    assert reply.text.startswith("That file is 25.0 MB")
    assert "getFile" not in api.requests


async def test_stats_sends_text_and_confusion_matrix(api, bot, classifier):
    api.send_photo(USER, expect(classifier, digit_photo("1"), "1"))
    await api.next_messages(USER)
    api.send_command(USER, "stats")
    text, picture = await api.next_messages(USER, count=2, timeout=20)
    assert re.search(r"^Photos read since .*: 1$", text.text, re.MULTILINE)
    assert f"No feedback on this model ({classifier.version}) yet" in text.text
    assert picture.method == "sendPhoto" and picture.photo.startswith(b"\x89PNG")


async def test_twenty_users_at_once_each_get_their_own_answer(api, bot, classifier):
    users = {2000 + index: str(index % 10) for index in range(20)}
    for user, digit in users.items():
        api.send_photo(user, expect(classifier, digit_photo(digit), digit))
    replies = await asyncio.gather(*(api.next_messages(user, timeout=30) for user in users))
    # Confident ("It's a 7") or not ("I think it's a 6, but..."), the digit must be right.
    read = {user: re.match(r"(?:It's|I think it's) an? (\d)", reply.text) for user, (reply,) in zip(users, replies)}
    assert {user: match and match.group(1) for user, match in read.items()} == users


async def test_server_errors_do_not_break_the_bot(api, bot, classifier):
    photo = expect(classifier, digit_photo("4"), "4")
    api.fail_next(1, methods={"getUpdates"})  # polling fails once: PTB backs off and retries
    api.send_photo(USER, photo)
    (reply,) = await api.next_messages(USER, timeout=15)
    assert reply.text.startswith("It's a 4")

    api.fail_next(1, methods={"sendMessage"})  # the answer itself fails: the error handler apologises
    api.send_photo(USER, photo)
    (apology,) = await api.next_messages(USER)
    assert apology.text == messages.something_went_wrong(EN)

    api.send_photo(USER, photo)
    (reply,) = await api.next_messages(USER)
    assert reply.text.startswith("It's a 4")


async def test_token_never_reaches_the_logs(api, api_settings, classifier, caplog):
    caplog.set_level(logging.DEBUG)
    token_filter = configure_logging(TOKEN, level=logging.DEBUG)
    try:
        async with running(build_application(api_settings, classifier), poll_timeout=5):
            api.fail_next(1, methods={"sendMessage"})  # force an error with a traceback in the log
            api.send_photo(USER, expect(classifier, digit_photo("8"), "8"))
            await api.next_messages(USER)
    finally:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(token_filter)
    secret = TOKEN.split(":")[1]
    assert "Update 1 caused an error" in caplog.text
    assert "[REDACTED]" in caplog.text
    assert TOKEN not in caplog.text and secret not in caplog.text


# ----------------------------------------------------------------- feedback (issue 5)


async def test_wrong_then_a_digit_corrects_the_reply_and_survives_a_restart(api, api_settings, classifier):
    async with running(build_application(api_settings, classifier), poll_timeout=5):
        api.send_photo(USER, expect(classifier, digit_photo("7"), "7"))
        (reply,) = await api.next_messages(USER)
        original, predicted = reply.text, read_digit(reply)
        label = (predicted + 1) % 10
        api.press_button(USER, reply, button(reply, messages.wrong_button(EN)))
        await api.next_edit(reply)
        assert reply.text == original + messages.PROMPT_MARK + "Which digit is it?"
        assert [text for text, _ in reply.buttons] == [
            *map(str, range(10)), messages.back_button(EN), messages.saw_button(EN)]
        query_id = api.press_button(USER, reply, button(reply, str(label)))
        await api.next_edit(reply)
        assert reply.text == f"{original}\n\n✏️ Corrected: {predicted} → {label}, thanks!"
        assert reply.buttons == [(messages.saw_button(EN), button(reply, messages.saw_button(EN)))]
        assert (await api.callback_answer(query_id)).text == messages.feedback_thanks(EN)
    assert (api_settings.home / "feedback.sqlite3").is_file()

    async with running(build_application(api_settings, classifier), poll_timeout=5):  # a restart
        api.send_command(USER, "stats")
        text, _ = await api.next_messages(USER, count=2, timeout=20)
        lines = text.text.splitlines()
        assert f"Feedback from users on this model ({classifier.version}): 0 answers confirmed, 1 corrected" in lines
        assert f"Most common mix-ups: {label} read as {predicted} (1×)" in lines


async def test_double_tap_on_right_stores_one_answer(api, bot, classifier):
    api.send_photo(USER, expect(classifier, digit_photo("3"), "3"))
    (reply,) = await api.next_messages(USER)
    original = reply.text
    first = api.press_button(USER, reply, button(reply, messages.right_button(EN)))
    second = api.press_button(USER, reply, button(reply, messages.right_button(EN)))
    await api.next_edit(reply)
    answers = {(await api.callback_answer(query_id)).text for query_id in (first, second)}
    assert answers == {messages.feedback_thanks(EN), messages.feedback_refusal(EN, FeedbackStatus.DUPLICATE)}
    assert (reply.edits, reply.text) == (1, original + "\n\n✅ Confirmed, thanks!")
    api.send_command(USER, "stats")
    text, _ = await api.next_messages(USER, count=2, timeout=20)
    assert (f"Feedback from users on this model ({classifier.version}): 1 answer confirmed, 0 corrected"
            in text.text.splitlines())


async def test_forgetme_deletes_the_feedback(api, bot, classifier):
    api.send_photo(USER, expect(classifier, digit_photo("42"), "42"))
    (reply,) = await api.next_messages(USER)
    api.press_button(USER, reply, button(reply, messages.right_button(EN)))
    await api.next_edit(reply)
    api.send_photo(USER, expect(classifier, digit_photo("5"), "5"))
    (unanswered,) = await api.next_messages(USER)
    api.send_command(USER, "forgetme")
    (done,) = await api.next_messages(USER)
    assert done.text == "Done: I deleted everything I had stored about you (2 photo readings)."
    late = api.press_button(USER, unanswered, button(unanswered, messages.right_button(EN)))
    assert (await api.callback_answer(late)).text == messages.feedback_missing(EN)
    assert unanswered.edits == 0
    api.send_command(USER, "stats")
    text, _ = await api.next_messages(USER, count=2, timeout=20)
    assert (f"No feedback on this model ({classifier.version}) yet: tap ✅ Right or ❌ Wrong under my answers."
            in text.text.splitlines())


async def test_correcting_a_long_number_tap_by_tap_is_not_rate_limited(api, api_settings, classifier):
    number = "314159265358"
    limits = BotLimits()  # what a public bot runs with, not unlimited()
    async with running(build_application(api_settings, classifier, limits=limits), poll_timeout=5) as application:
        api.send_photo(USER, expect(classifier, digit_photo(number), number))
        (reply,) = await api.next_messages(USER)
        original, read = reply.text, reply.text.splitlines()[0].removeprefix("I read ")
        assert len(read) >= 10
        labels = "".join(str((int(digit) + 1) % 10) for digit in read)  # every digit wrong
        # The photo, Wrong and a tap per digit, in about a second: more than the photos' allowance.
        assert 1 + 1 + len(labels) > limits.user_burst
        wrong = callbacks.PATTERNS[callbacks.WRONG].match(button(reply, messages.wrong_button(EN)))
        reading_id = int(wrong.group(1))

        await tap(api, reply, messages.wrong_button(EN))
        toasts = [await tap(api, reply, label) for label in labels]

        assert reply.text == f"{original}\n\n✏️ Corrected: {read} → {labels}, thanks!"
        assert toasts[-1] == messages.feedback_thanks(EN)
        services = get_services(application)
        stored = await services.run_db(services.store.reading, reading_id)
        assert stored.labels == tuple(map(int, labels))

        api.send_photo(USER, expect(classifier, digit_photo("7"), "7"))  # the taps left the photos' allowance
        (next_reply,) = await api.next_messages(USER)
        assert next_reply.text.startswith("It's a 7")


# ----------------------------------------------------------------- /stats per model version


def seed_feedback(home, model_version: str, labels: dict[int, int]) -> None:
    """Store one-digit readings by ``model_version`` (``{predicted: true label}``) with their feedback."""
    with FeedbackStore.open(home / DATABASE_FILENAME) as store:
        for predicted, label in labels.items():
            reading = store.record_reading(user_id=USER, chat_id=USER, model_version=model_version,
                                           predictions=[(predicted, 0.9, np.zeros((28, 28), np.float32))])
            store.record_feedback(reading.reading_id, USER, [label])


async def test_stats_figures_are_those_of_the_serving_model(api, api_settings, classifier):
    # An older model's feedback: 1 of 3 digits right, 4 read as 9 twice.
    seed_feedback(api_settings.home, "an-older-model", {9: 4, 8: 8, 7: 4})
    async with running(build_application(api_settings, classifier), poll_timeout=5):
        api.send_command(USER, "stats")
        text, _ = await api.next_messages(USER, count=2, timeout=20)
        assert text.text.splitlines()[-2:] == [
            f"No feedback on this model ({classifier.version}) yet: tap ✅ Right or ❌ Wrong under my answers.",
            "All model versions: 33.3 % of 3 digits checked",
        ]
        api.send_photo(USER, expect(classifier, digit_photo("7"), "7"))
        (reply,) = await api.next_messages(USER)
        await tap(api, reply, messages.right_button(EN))
        api.send_command(USER, "stats")
        text, _ = await api.next_messages(USER, count=2, timeout=20)
    # The older model's mix-ups stay out of the serving model's figures.
    assert text.text.splitlines()[-3:] == [
        f"Feedback from users on this model ({classifier.version}): 1 answer confirmed, 0 corrected",
        "Live accuracy: 100.0 % of 1 digit checked",
        "All model versions: 50.0 % of 4 digits checked",
    ]


def always_model_version(registry: ModelRegistry, tiny_model_path, directory, digit: int, **commit) -> str:
    """Register a model answering ``digit`` to everything, with a model card; returns the version's name."""
    directory.mkdir()
    write_always_model(tiny_model_path, directory / "digit_cnn.keras", digit=digit)
    card = {"input_shape": [28, 28, 1], "class_labels": [*range(10), NOT_A_DIGIT_LABEL], "output": "logits",
            "test_accuracy": 0.1}
    (directory / "digit_cnn.json").write_text(json.dumps(card))
    return registry.import_model(directory / "digit_cnn.keras", **commit).name


async def finish_reading(api, photo: str, answer: str | None = None) -> str:
    """Send a photo of ``photo``; confirm it (``answer`` None) or correct it to ``answer``. Returns the reply."""
    api.send_photo(USER, digit_photo(photo))
    (reply,) = await api.next_messages(USER)
    text = reply.text
    if answer is None:
        await tap(api, reply, messages.right_button(EN))
    else:
        await tap(api, reply, messages.wrong_button(EN))
        await tap(api, reply, answer)
    return text


async def stats_lines(api) -> list[str]:
    """Send /stats; the lines of its text (these versions have no confusion-matrix picture)."""
    api.send_command(USER, "stats")
    (text,) = await api.next_messages(USER, timeout=20)
    return text.text.splitlines()


async def test_stats_follow_a_rollback(api, tmp_path, tiny_model_path, monkeypatch):
    """Real models and registry: after /rollback, /stats shows the feedback on the version rolled back to."""
    # Models that answer one digit to everything: the number reader would read the photo itself.
    monkeypatch.setenv("DIGITBOT_NUMBER_READER", "off")
    settings = Settings(token=TOKEN, base_url=api.base_url, base_file_url=api.base_file_url,
                        admin_ids=frozenset({ADMIN}), home=tmp_path / "home")
    registry = ModelRegistry(settings.registry_dir)
    threes = always_model_version(registry, tiny_model_path, tmp_path / "threes", 3, status=INITIAL)
    nines = always_model_version(registry, tiny_model_path, tmp_path / "nines", 9, status=PROMOTED, activate=True)
    assert (threes, nines) == ("v1", "v2")
    application = build_application(settings, load_active_classifier(settings), limits=BotLimits.unlimited())
    async with running(application, poll_timeout=5):
        assert (await finish_reading(api, "3", answer="3")).startswith("It's a 9")
        assert (await stats_lines(api))[-3:] == [
            "Feedback from users on this model (v2): 0 answers confirmed, 1 corrected",
            "Live accuracy: 0.0 % of 1 digit checked",
            "Most common mix-ups: 3 read as 9 (1×)",
        ]

        api.send_command(ADMIN, "rollback")
        (switched,) = await api.next_messages(ADMIN, timeout=20)
        assert switched.text.startswith("Switched to v1")
        assert (await stats_lines(api))[-2:] == [
            "No feedback on this model (v1) yet: tap ✅ Right or ❌ Wrong under my answers.",
            "All model versions: 0.0 % of 1 digit checked",
        ]

        assert (await finish_reading(api, "3")).startswith("It's a 3")
        assert (await stats_lines(api))[-3:] == [
            "Feedback from users on this model (v1): 1 answer confirmed, 0 corrected",
            "Live accuracy: 100.0 % of 1 digit checked",
            "All model versions: 50.0 % of 2 digits checked",
        ]


# ----------------------------------------------------------------- groups

GROUP, ALICE, BOB = -1001234567890, 2001, 2002
AT_BOT = "@" + LocalBotApi.bot_username


@pytest.fixture
def group(api) -> int:
    """A supergroup with the bot in it (privacy mode off: the bot sees every message)."""
    api.create_group(GROUP, "Family chat", supergroup=True)
    return GROUP


def bot_events(api: LocalBotApi, chat_id: int, after: int = 0) -> list:
    """What the bot did in ``chat_id`` after event ``after``: its messages, edits, chat actions."""
    return [event for event in api.events(chat_id, after)
            if event.kind != "message" or event.data["from"]["is_bot"]]


async def assert_silent(api: LocalBotApi, chat_id: int, after: int, wait: float = 0.5) -> None:
    """Nothing happens in ``chat_id`` after event ``after`` (the users are done: anything would be the bot's)."""
    assert await api.wait_events(chat_id, after, timeout=wait) == []


def last_seq(api: LocalBotApi, chat_id: int) -> int:
    events = api.events(chat_id)
    return events[-1].seq if events else 0


async def test_group_ignores_chatter_photos_and_other_bots_commands(api, bot, classifier, group):
    api.send_text(ALICE, "Look at our holiday!", chat_id=group)
    api.send_photo(BOB, expect(classifier, digit_photo("5"), "5"), chat_id=group)
    api.send_command(ALICE, "start@otherbot", chat_id=group)
    api.send_command(BOB, "frobnicate", chat_id=group)  # bare: may be another bot's command
    api.send_text(BOB, "ping @someone_else", chat_id=group)
    # The bot answers what is addressed to it, so its silence above is not a dead bot.
    api.send_command(ALICE, f"help{AT_BOT}", chat_id=group)
    (reply,) = await api.next_messages(group)
    assert reply.text == messages.help_text(EN)
    await assert_silent(api, group, after=last_seq(api, group))
    assert [event.data["text"] for event in bot_events(api, group) if event.kind == "message"] == [
        messages.help_text(EN)]
    assert "getFile" not in api.requests  # the unaddressed photo was not even downloaded


async def test_group_photo_with_the_bot_mentioned_in_its_caption_is_read(api, bot, classifier, group):
    photo = api.send_photo(ALICE, expect(classifier, digit_photo("7"), "7"), caption=f"{AT_BOT} what's this?",
                           chat_id=group)
    (reply,) = await api.next_messages(group)
    assert read_digit(reply) == 7
    assert reply.payload["reply_to_message"]["message_id"] == photo["message_id"]  # quoted: clear whose photo


async def test_group_photo_captioned_read_command_is_read(api, bot, classifier, group):
    api.send_photo(ALICE, expect(classifier, digit_photo("3"), "3"), caption="/read", chat_id=group)
    (reply,) = await api.next_messages(group)
    assert read_digit(reply) == 3


async def test_group_photo_in_reply_to_the_bot_is_read(api, bot, classifier, group):
    api.send_text(ALICE, f"{AT_BOT} can you read digits?", chat_id=group)
    (hint,) = await api.next_messages(group)
    assert hint.text == messages.send_a_photo(EN)
    api.send_photo(ALICE, expect(classifier, digit_photo("4"), "4"), chat_id=group, reply_to=hint)
    (reply,) = await api.next_messages(group)
    assert read_digit(reply) == 4


async def test_group_text_in_reply_to_the_bot_gets_the_hint(api, bot, classifier, group):
    api.send_photo(ALICE, expect(classifier, digit_photo("2"), "2"), caption=AT_BOT, chat_id=group)
    (reading,) = await api.next_messages(group)
    api.send_text(BOB, "nice one", chat_id=group, reply_to=reading)
    (hint,) = await api.next_messages(group)
    assert hint.text == messages.send_a_photo(EN)


async def test_group_read_in_reply_to_a_photo_reads_it_for_its_sender(api, bot, classifier, group):
    photo = api.send_photo(BOB, expect(classifier, digit_photo("9"), "9"), chat_id=group)
    api.send_command(ALICE, "read", chat_id=group, reply_to=photo)
    (reply,) = await api.next_messages(group)
    assert read_digit(reply) == 9
    assert reply.payload["reply_to_message"]["message_id"] == photo["message_id"]
    # The reading is Bob's: Alice may not answer for him, Bob may.
    refused = await api.callback_answer(api.press_button(ALICE, reply, button(reply, messages.right_button(EN))))
    assert refused.text == messages.feedback_refusal(EN, FeedbackStatus.NOT_OWNER)
    assert reply.edits == 0
    thanked = await api.callback_answer(api.press_button(BOB, reply, button(reply, messages.right_button(EN))))
    assert thanked.text == messages.feedback_thanks(EN)
    await api.next_edit(reply)
    assert "Confirmed" in reply.text


async def test_group_mention_in_reply_to_a_photo_reads_it(api, bot, classifier, group):
    photo = api.send_photo(BOB, expect(classifier, digit_photo("6"), "6"), chat_id=group)
    api.send_text(ALICE, f"{AT_BOT} what does it say?", chat_id=group, reply_to=photo)
    (reply,) = await api.next_messages(group)
    assert read_digit(reply) == 6


async def test_group_read_without_a_photo_explains(api, bot, group):
    api.send_command(ALICE, f"read{AT_BOT}", chat_id=group)
    (reply,) = await api.next_messages(group)
    assert reply.text == messages.read_what(EN)


async def test_group_unknown_command_for_the_bot_gets_help_and_the_menu_has_read(api, bot, group):
    api.send_command(ALICE, f"frobnicate{AT_BOT}", chat_id=group)
    (reply,) = await api.next_messages(group)
    assert reply.text == messages.help_text(EN)
    assert [command["command"] for command in api.commands_for(ALICE, group)] == [
        command for command, _ in messages.group_commands(EN)]
    assert api.commands_for(ALICE)[0]["command"] == "start"  # the private menu is unchanged


async def test_private_chat_still_answers_everything(api, bot, classifier, group):
    api.send_text(USER, "hello")
    api.send_photo(USER, expect(classifier, digit_photo("8"), "8"))
    api.send_command(USER, "frobnicate")
    replies = await api.next_messages(USER, count=3)
    texts = {reply.text for reply in replies}
    assert {messages.send_a_photo(EN), messages.help_text(EN)} < texts
    (reading,) = [reply for reply in replies if reply.text not in (messages.send_a_photo(EN), messages.help_text(EN))]
    assert read_digit(reading) == 8
    assert all("reply_to_message" not in reply.payload for reply in replies)  # no quoting in private
