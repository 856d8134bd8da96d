"""The error handler: log, apologise, and alert the admins at most once a minute with no user data or token."""

import dataclasses
import logging

from bot_fakes import TOKEN, make_message_update
from telegram.error import Forbidden, NetworkError

from bot import i18n, messages
from bot.context import get_services
from bot.errors import AdminAlerts, error_handler, get_admin_alerts

EN = i18n.english()

ADMINS = frozenset({5, 6})


def with_admins(context, admin_ids=ADMINS):
    services = get_services(context)
    services.settings = dataclasses.replace(services.settings, admin_ids=admin_ids)
    clock = [1000.0]
    context.bot_data["admin_alerts"] = AdminAlerts(clock=lambda: clock[0])
    return clock


def sent_to(context, chat_id):
    return [call.args[1] for call in context.bot.send_message.await_args_list if call.args[0] == chat_id]


def raise_here(error):
    try:
        raise error
    except Exception as raised:
        return raised


async def test_admins_get_one_alert_with_ids_and_place_but_no_message_or_token(context, caplog):
    with_admins(context)
    context.error = raise_here(RuntimeError(f"user 42 wrote 'my secret' via https://api/bot{TOKEN}/getFile"))
    await error_handler(make_message_update(update_id=77), context)

    assert sent_to(context, 42) == [messages.something_went_wrong(EN)]
    alerts = sent_to(context, 5)
    assert alerts == sent_to(context, 6) and len(alerts) == 1
    assert "update 77" in alerts[0] and "RuntimeError" in alerts[0]
    assert "tests/bot/test_errors.py:" in alerts[0] and "raise_here" in alerts[0]
    for private in (TOKEN, TOKEN.partition(":")[2], "secret", "wrote", "user 42"):
        assert private not in alerts[0]
    assert "Update 77 caused an error" in caplog.text  # the details go to the log


async def test_alerts_are_rate_limited_and_count_what_was_held_back(context):
    clock = with_admins(context, frozenset({5}))
    for update_id in (1, 2, 3):
        context.error = RuntimeError("boom")
        await error_handler(make_message_update(update_id=update_id), context)
        clock[0] += 10
    assert len(sent_to(context, 5)) == 1
    clock[0] += 60
    context.error = ValueError("again")
    await error_handler(make_message_update(update_id=4), context)
    latest = sent_to(context, 5)[-1]
    assert len(sent_to(context, 5)) == 2
    assert "update 4" in latest and "ValueError" in latest and "2 more errors since the last alert." in latest
    assert get_admin_alerts(context).suppressed == 0


async def test_an_admin_who_cannot_be_reached_does_not_stop_the_apology(context, caplog):
    with_admins(context)

    async def send_message(chat_id, text):
        if chat_id == 5:
            raise Forbidden("bot was blocked by the user")

    context.bot.send_message.side_effect = send_message
    context.error = RuntimeError("boom")
    with caplog.at_level(logging.WARNING):
        await error_handler(make_message_update(update_id=9), context)
    assert [call.args[0] for call in context.bot.send_message.await_args_list] == [42, 5, 6]
    assert "Could not alert admin 5 about update 9" in caplog.text


async def test_polling_network_trouble_and_no_admins_send_no_alert(context):
    with_admins(context)
    context.error = NetworkError("connection reset")
    await error_handler(None, context)
    context.bot.send_message.assert_not_awaited()

    with_admins(context, frozenset())
    context.error = RuntimeError("boom")
    await error_handler(make_message_update(update_id=3), context)
    context.bot.send_message.assert_awaited_once_with(42, messages.something_went_wrong(EN))


async def test_error_outside_an_update_still_alerts(context):
    with_admins(context, frozenset({5}))
    context.error = RuntimeError("job failed")
    await error_handler(None, context)
    (alert,) = sent_to(context, 5)
    assert "outside an update" in alert and "RuntimeError" in alert
