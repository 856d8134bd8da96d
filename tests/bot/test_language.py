"""The user's language: from Telegram's language_code, or chosen with /language; kept until /forgetme."""

from __future__ import annotations

import dataclasses

from bot_fakes import make_callback_update, make_message_update

from bot import callbacks, handlers, i18n, messages
from bot.context import get_language, get_services
from bot.errors import error_handler
from bot.store import StoreError

EN, RU, DE = i18n.english(), i18n.get("ru"), i18n.get("de")
USER = 42  # the fake updates' user and private chat


def message_from(language_code: str | None, text: str = "/help", chat_type: str = "private"):
    """A message from the test user whose Telegram app is set to ``language_code``."""
    update = make_message_update(text=text)
    update.effective_user.language_code = language_code
    update.effective_chat.type = chat_type
    return update


def reply(update) -> str:
    return update.effective_message.reply_text.await_args.args[0]


async def tap_language(context, argument: str, language_code: str | None = "ru", chat_type: str = "private"):
    """Tap the /language button ``lang:<argument>``; returns the update."""
    data = f"{callbacks.LANGUAGE}:{argument}"
    context.match = callbacks.PATTERNS[callbacks.LANGUAGE].match(data)
    update = make_callback_update(data)
    update.effective_user.language_code = language_code
    update.effective_chat.type = chat_type
    await handlers.on_language_button(update, context)
    return update


async def test_telegrams_language_code_picks_the_language_of_replies(context):
    russian = message_from("ru")
    await handlers.on_help(russian, context)
    assert reply(russian) == messages.help_text(RU) != messages.help_text(EN)
    assert reply(russian).startswith("Я читаю рукописные цифры на фотографиях.")
    brazilian = message_from("pt-br", text="hello")
    await handlers.on_other_message(brazilian, context)
    assert reply(brazilian) == messages.send_a_photo(i18n.get("pt_BR"))


async def test_an_unsupported_or_missing_language_code_gets_english(context):
    for code in ("fr", "", None):
        update = message_from(code)
        await handlers.on_help(update, context)
        assert reply(update) == messages.help_text(EN)


async def test_language_command_shows_each_language_by_its_own_name(context):
    update = message_from("de", text="/language")
    await handlers.on_language(update, context)
    call = update.effective_message.reply_text.await_args
    assert call.args[0] == ("Ich spreche Deutsch mit dir, wie in deinen Telegram-Einstellungen.\n"
                            "Wähle die Sprache, in der ich mit dir spreche:")
    rows = call.kwargs["reply_markup"].inline_keyboard
    assert [len(row) for row in rows[:2]] == [2, 2]  # two languages a row
    buttons = [button for row in rows for button in row]
    assert [button.text for button in buttons] == [language.name for language in i18n.supported()] + [
        "✅ 🌐 Wie in Telegram"]
    assert buttons[3].text == "Deutsch"  # not marked: Telegram's language, not a choice
    assert [button.callback_data for button in buttons] == [f"lang:{code}" for code in i18n.CODES] + ["lang:auto"]


async def test_a_chosen_language_is_stored_and_beats_telegrams(context, store):
    update = await tap_language(context, "de", language_code="ru")
    assert store.language_of(USER) == "de"
    update.callback_query.answer.assert_awaited_once_with("Ab jetzt spreche ich Deutsch mit dir.")
    edit = update.callback_query.edit_message_text.await_args
    assert edit.args[0].startswith("Ich spreche Deutsch mit dir, so wie du es gewählt hast.")
    keyboard = edit.kwargs["reply_markup"].inline_keyboard
    marked = [button.text for row in keyboard for button in row if "✅" in button.text]
    assert marked == ["✅ Deutsch"]
    later = message_from("ru")
    await handlers.on_help(later, context)
    assert reply(later) == messages.help_text(DE)

    context.user_data.clear()  # a restarted bot: read back from the store
    again = message_from("ru")
    await handlers.on_help(again, context)
    assert reply(again) == messages.help_text(DE)


async def test_as_in_telegram_drops_the_choice(context, store):
    store.set_language(USER, "es")
    update = await tap_language(context, callbacks.FOLLOW_TELEGRAM, language_code="ru")
    assert store.language_of(USER) is None
    update.callback_query.answer.assert_awaited_once_with(
        "Готово, теперь я следую настройкам вашего Telegram: Русский.")
    assert (await get_language(message_from("ru"), context)) is RU


async def test_in_a_group_the_choice_is_confirmed_by_toast_only(context, store):
    update = await tap_language(context, "ru", language_code="en", chat_type="supergroup")
    assert store.language_of(USER) == "ru"
    update.callback_query.answer.assert_awaited_once_with("Готово, язык общения: Русский.")
    update.callback_query.edit_message_text.assert_not_awaited()


async def test_an_unknown_language_button_changes_nothing(context, store):
    for argument in ("fr", "pt", "PT_BR", "x" * 40):
        update = await tap_language(context, argument, language_code="de")
        update.callback_query.answer.assert_awaited_once_with(messages.feedback_outdated(DE))
    assert store.language_of(USER) is None


async def test_a_choice_that_cannot_be_stored_is_not_pretended(context, store, monkeypatch):
    def broken(*args):
        raise StoreError("disk full")

    monkeypatch.setattr(store, "set_language", broken)
    update = await tap_language(context, "de", language_code="es")
    update.callback_query.answer.assert_awaited_once_with(messages.feedback_unavailable(i18n.get("es")))
    assert (await get_language(message_from("es"), context)).code == "es"


async def test_an_unreadable_store_or_an_unknown_stored_code_means_telegrams_language(context, store, monkeypatch):
    def broken(*args):
        raise StoreError("locked")

    monkeypatch.setattr(store, "language_of", broken)
    assert (await get_language(message_from("ru"), context)) is RU
    monkeypatch.undo()
    store.set_language(USER, "tlh")  # stored by a bot that spoke Klingon
    context.user_data.clear()
    assert (await get_language(message_from("ru"), context)) is RU


async def test_forgetme_deletes_the_choice_and_answers_in_the_language_it_had(context, store):
    await tap_language(context, "de", language_code="ru")
    update = message_from("ru", text="/forgetme")
    await handlers.on_forget_me(update, context)
    assert reply(update) == ("Erledigt: Ich habe alles gelöscht, was ich über dich gespeichert hatte "
                             "(deine Sprachwahl).")
    assert store.language_of(USER) is None
    after = message_from("ru")
    await handlers.on_help(after, context)
    assert reply(after) == messages.help_text(RU)


async def test_errors_apologise_in_the_users_language_and_alert_admins_in_theirs(context, store):
    services = get_services(context)
    services.settings = dataclasses.replace(services.settings, admin_ids=frozenset({5, 6}))
    store.set_language(5, "pt_BR")
    context.error = RuntimeError("boom")
    await error_handler(message_from("es"), context)
    sent = {call.args[0]: call.args[1] for call in context.bot.send_message.await_args_list}
    assert sent[USER] == "Lo siento, algo falló por mi parte. Inténtalo de nuevo en un momento."
    assert sent[5].startswith("⚠️ Erro inesperado (RuntimeError) na atualização 1")
    assert sent[6].startswith("⚠️ Unexpected error (RuntimeError) in update 1")  # no choice: English
