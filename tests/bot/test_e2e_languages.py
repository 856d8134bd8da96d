"""End to end, in the user's language: the real Application against the local Bot API server, users
whose Telegram apps speak Russian, Spanish, Brazilian Portuguese or a language the bot does not."""

from __future__ import annotations

import pytest

from core.errors import NoDigitFoundError

from bot import i18n, messages
from bot.app import build_application
from bot.local_api import LocalBotApi, SentMessage
from bot.main import running
from bot.store import DATABASE_FILENAME, FeedbackStatus, FeedbackStore

from bot_fakes import TINY_PDF, TOKEN, blank_photo, digit_photo, expect

pytestmark = pytest.mark.e2e

IVAN, SOFIA, JOAO, CLAIRE = 3001, 3002, 3003, 3004
GROUP = -1009876543210
RU, ES, PT, EN = i18n.get("ru"), i18n.get("es"), i18n.get("pt_BR"), i18n.english()


@pytest.fixture
async def api():
    """A local Bot API server with a Russian, a Spanish, a Brazilian and a French user."""
    async with LocalBotApi(TOKEN) as server:
        server.set_user(IVAN, "Иван", language_code="ru")
        server.set_user(SOFIA, "Sofía", language_code="es")
        server.set_user(JOAO, "João", language_code="pt-br")
        server.set_user(CLAIRE, "Claire", language_code="fr")
        yield server


def labels(reply: SentMessage) -> list[str]:
    return [label for label, _ in reply.buttons]


async def tap(api: LocalBotApi, user: int, reply: SentMessage, label: str, edited: bool = True) -> str | None:
    """Tap ``label`` under ``reply``; wait for the answer (and the edit); returns the toast."""
    edits = reply.edits
    answer = await api.callback_answer(api.press_button(user, reply, dict(reply.buttons)[label]))
    if edited and reply.edits == edits:
        await api.next_edit(reply)
    return answer.text


async def test_a_russian_user_gets_russian_end_to_end(api, bot, classifier):
    assert [command["description"] for command in api.commands_for(IVAN)] == [
        description for _, description in messages.commands(RU)]
    assert api.commands_for(IVAN)[0]["description"] == "Что умеет этот бот"

    api.send_command(IVAN, "start")
    (greeting,) = await api.next_messages(IVAN)
    assert greeting.text == messages.start_text(RU)
    assert greeting.text.startswith("Привет! Я читаю рукописные цифры на фотографиях.")

    api.send_photo(IVAN, expect(classifier, digit_photo("7"), "7"))
    (reply,) = await api.next_messages(IVAN)
    assert reply.text.startswith("Это 7 — уверен на ") and "," in reply.text.split("%")[0]  # "98,7 %"
    assert labels(reply) == ["✅ Верно", "❌ Неверно", "Что я увидел"]
    assert await tap(api, IVAN, reply, "✅ Верно") == "Спасибо! 🙏"
    assert reply.text.endswith("\n\n✅ Подтверждено, спасибо!")

    api.send_command(IVAN, "stats")
    text, picture = await api.next_messages(IVAN, count=2, timeout=20)
    assert text.text.startswith("Точность на тесте: ")
    assert f"Отзывы пользователей об этой модели ({classifier.version}): подтверждено ответов — 1" in text.text
    assert picture.method == "sendPhoto" and picture.payload["caption"] == messages.confusion_matrix_caption(RU)

    api.send_document(IVAN, TINY_PDF, file_name="scan.pdf", mime_type="application/pdf")
    (refusal,) = await api.next_messages(IVAN)
    assert refusal.text == messages.not_an_image_document(RU) and refusal.text.startswith("Этот файл")


async def test_what_i_saw_comes_with_a_russian_caption(api, bot, real_model):
    api.send_photo(IVAN, digit_photo("5"))
    (reply,) = await api.next_messages(IVAN)
    api.press_button(IVAN, reply, dict(reply.buttons)["Что я увидел"])
    (steps,) = await api.next_messages(IVAN, timeout=20)
    assert steps.photo.startswith(b"\x89PNG")
    assert steps.payload["caption"].startswith("Что я увидел: ваше фото")


async def test_a_spanish_user_corrects_a_reading_in_spanish(api, bot, classifier):
    api.send_photo(SOFIA, expect(classifier, digit_photo("42"), "42"))
    (reply,) = await api.next_messages(SOFIA)
    assert reply.text.splitlines()[0] == "Leí 42"
    assert reply.text.splitlines()[1].startswith("• 4 — seguro al ")
    original = reply.text
    await tap(api, SOFIA, reply, "❌ Incorrecto")
    assert reply.text == original + messages.PROMPT_MARK + "Dígito 1 de 2 (leí 4): ¿cuál es?"
    assert labels(reply)[-2:] == ["↩️ Atrás", "Lo que vi"]
    await tap(api, SOFIA, reply, "4")
    await tap(api, SOFIA, reply, "7")
    assert reply.text == original + "\n\n✏️ Corregido: 42 → 47, ¡gracias!"

    api.send_photo(SOFIA, expect(classifier, blank_photo(), NoDigitFoundError(reason="blank")))
    (blank,) = await api.next_messages(SOFIA)
    assert blank.text.startswith("No encontré ningún dígito escrito a mano en esa imagen. "
                                 "No encontré tinta: la imagen me parece en blanco.\n")
    assert labels(blank) == ["Lo que vi"]

    api.send_text(SOFIA, "hola")
    (hint,) = await api.next_messages(SOFIA)
    assert hint.text == "Mándame una foto de un dígito o un número escrito a mano y lo leeré. (Consejos en /help)"


async def test_an_unsupported_language_gets_english(api, bot, classifier):
    assert api.commands_for(CLAIRE) == api.commands  # the menu without a language: English
    api.send_command(CLAIRE, "help")
    api.send_photo(CLAIRE, expect(classifier, digit_photo("3"), "3"))
    help_reply, reading = await api.next_messages(CLAIRE, count=2)
    assert help_reply.text == messages.help_text(EN)
    assert reading.text.startswith("It's a 3 — ") and labels(reading)[0] == "✅ Right"


async def test_brazilian_portuguese_from_pt_br_and_the_pt_menu(api, bot, classifier):
    assert api.commands_for(JOAO)[0]["description"] == "O que este bot faz"  # registered for "pt"
    api.send_photo(JOAO, expect(classifier, digit_photo("8"), "8"))
    (reply,) = await api.next_messages(JOAO)
    assert reply.text.startswith("É um 8 — ") and labels(reply) == ["✅ Certo", "❌ Errado", "O que eu vi"]


async def test_group_menus_and_replies_follow_each_members_language(api, bot, classifier):
    api.create_group(GROUP, "Amigos", supergroup=True)
    assert api.commands_for(SOFIA, GROUP)[0] == {"command": "read",
                                                 "description": "Responde a una foto con /read y la leeré"}
    photo = api.send_photo(IVAN, expect(classifier, digit_photo("2"), "2"), chat_id=GROUP)
    api.send_command(SOFIA, "read", chat_id=GROUP, reply_to=photo)
    (reply,) = await api.next_messages(GROUP)
    assert reply.text.startswith("Es un 2 — ")  # in the language of who asked
    assert await tap(api, SOFIA, reply, "✅ Correcto", edited=False) == messages.feedback_refusal(
        ES, FeedbackStatus.NOT_OWNER)  # the photo is Ivan's to judge


async def test_a_language_chosen_with_language_command_is_kept_across_restarts_until_forgetme(
        api, api_settings, classifier):
    async with running(build_application(api_settings, classifier), poll_timeout=5):
        api.send_command(IVAN, "language")
        (menu,) = await api.next_messages(IVAN)
        assert menu.text.startswith("Язык общения: Русский — как в настройках вашего Telegram.")
        assert labels(menu) == [language.name for language in i18n.supported()] + ["✅ 🌐 Как в Telegram"]
        assert labels(menu)[:5] == ["English", "Русский", "Español", "Deutsch", "Português (Brasil)"]
        assert await tap(api, IVAN, menu, "Deutsch") == "Ab jetzt spreche ich Deutsch mit dir."
        assert menu.text.startswith("Ich spreche Deutsch mit dir, so wie du es gewählt hast.")
        assert "✅ Deutsch" in labels(menu)
    with FeedbackStore.open(api_settings.home / DATABASE_FILENAME) as store:
        assert store.language_of(IVAN) == "de"

    async with running(build_application(api_settings, classifier), poll_timeout=5):
        api.send_photo(IVAN, expect(classifier, digit_photo("1"), "1"))
        (reply,) = await api.next_messages(IVAN)
        assert reply.text.startswith("Das ist eine 1 — zu ")
        api.send_command(IVAN, "forgetme")
        (done,) = await api.next_messages(IVAN)
        assert done.text == ("Erledigt: Ich habe alles gelöscht, was ich über dich gespeichert hatte "
                             "(1 gelesenes Foto und deine Sprachwahl).")
        api.send_command(IVAN, "help")
        (help_reply,) = await api.next_messages(IVAN)
        assert help_reply.text == messages.help_text(RU)  # Telegram's language again
