"""The local Bot API server speaks Telegram's HTTP shapes."""

import asyncio

import httpx
import pytest
from bot_fakes import TOKEN

from bot.local_api import LocalBotApi


@pytest.fixture
async def api():
    async with LocalBotApi(TOKEN) as server:
        yield server


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


async def test_wrong_token_is_unauthorized(api, client):
    response = await client.post(f"http://127.0.0.1:{api.port}/bot1:wrong/getMe")
    assert (response.status_code, response.json()) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_method_is_not_found(api, client):
    response = await client.post(f"{api.base_url}{TOKEN}/sendDice", data={"chat_id": "1"})
    assert response.status_code == 404 and response.json()["ok"] is False


async def test_get_updates_confirms_with_offset_and_long_polls(api, client):
    api.send_text(1, "one")
    api.send_text(1, "two")
    first = (await client.post(f"{api.base_url}{TOKEN}/getUpdates")).json()["result"]
    assert [update["message"]["text"] for update in first] == ["one", "two"]
    offset = first[-1]["update_id"] + 1
    poll = asyncio.create_task(client.post(f"{api.base_url}{TOKEN}/getUpdates", data={"offset": offset, "timeout": 5}))
    await asyncio.sleep(0.1)
    assert not poll.done()
    api.send_text(1, "three")
    result = (await poll).json()["result"]
    assert [update["message"]["text"] for update in result] == ["three"]


async def test_photo_file_roundtrip_and_send_message_shape(api, client):
    message = api.send_photo(1, b"not really a jpeg", width=640, height=480)
    (size,) = message["photo"]
    assert (size["width"], size["height"], size["file_size"]) == (640, 480, 17)
    file = (await client.post(f"{api.base_url}{TOKEN}/getFile", data={"file_id": size["file_id"]})).json()["result"]
    download = await client.get(f"{api.base_file_url}{TOKEN}/{file['file_path']}")
    assert download.content == b"not really a jpeg"
    sent = (await client.post(f"{api.base_url}{TOKEN}/sendMessage", data={"chat_id": "1", "text": "hi"})).json()
    assert sent["ok"] and sent["result"]["text"] == "hi" and sent["result"]["chat"]["id"] == 1
    assert [m.text for m in await api.next_messages(1)] == ["hi"]


async def test_unknown_chat_and_forced_failures(api, client):
    unknown = await client.post(f"{api.base_url}{TOKEN}/sendMessage", data={"chat_id": "999", "text": "hi"})
    assert (unknown.status_code, unknown.json()["description"]) == (400, "Bad Request: chat not found")
    api.fail_next(1)
    failed = await client.post(f"{api.base_url}{TOKEN}/getMe")
    assert (failed.status_code, failed.json()["error_code"]) == (500, 500)
    assert (await client.post(f"{api.base_url}{TOKEN}/getMe")).json()["ok"] is True


async def call(client, api, method, **params):
    """POST a Bot API method with JSON parameters; returns ``(status, body)``."""
    response = await client.post(f"{api.base_url}{TOKEN}/{method}", json=params)
    return response.status_code, response.json()


async def test_edits_deletions_and_the_chat_event_log(api, client):
    api.send_text(7, "hi")
    keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go:1"}]]}
    _, sent = await call(client, api, "sendMessage", chat_id=7, text="Working…", reply_markup=keyboard)
    message_id = sent["result"]["message_id"]
    assert "edit_date" not in sent["result"]
    _, edited = await call(client, api, "editMessageText", chat_id=7, message_id=message_id, text="Done")
    assert edited["result"]["text"] == "Done" and "reply_markup" not in edited["result"]
    assert edited["result"]["edit_date"] >= edited["result"]["date"]
    status, again = await call(client, api, "editMessageText", chat_id=7, message_id=message_id, text="Done")
    assert status == 400 and again["description"].startswith("Bad Request: message is not modified")
    _, marked = await call(client, api, "editMessageReplyMarkup", chat_id=7, message_id=message_id,
                           reply_markup=keyboard)
    assert marked["result"]["reply_markup"] == keyboard
    assert api.message(7, message_id).buttons == [("Go", "go:1")]
    status, caption = await call(client, api, "editMessageCaption", chat_id=7, message_id=message_id,
                                 caption="x")
    assert status == 400 and caption["description"] == "Bad Request: there is no caption in the message to edit"
    await call(client, api, "sendChatAction", chat_id=7, action="typing")
    assert (await call(client, api, "deleteMessage", chat_id=7, message_id=message_id))[1]["result"] is True
    status, gone = await call(client, api, "deleteMessage", chat_id=7, message_id=message_id)
    assert (status, gone["description"]) == (400, "Bad Request: message to delete not found")

    events = api.events(7)
    assert [event.kind for event in events] == [
        "message", "message", "edited_message", "edited_message", "chat_action", "deleted_message"]
    assert [event.data["from"]["is_bot"] for event in events[:2]] == [False, True]
    assert events[-1].data == {"message_id": message_id} and api.events(7, after=events[-1].seq) == []
    waiting = asyncio.create_task(api.wait_events(7, after=events[-1].seq, timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    api.send_text(7, "more")
    (new,) = await waiting
    assert new.data["text"] == "more"


async def test_html_parse_mode_and_detected_entities(api, client):
    api.send_text(3, "hi")
    text = '<b>Bold</b> 📷 <a href="https://example.org">link</a> &amp; /help or https://example.org/x.'
    _, sent = await call(client, api, "sendMessage", chat_id=3, text=text, parse_mode="HTML")
    result = sent["result"]
    assert result["text"] == "Bold 📷 link & /help or https://example.org/x."
    assert result["entities"] == [  # offsets in UTF-16 code units: the camera emoji counts two
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 8, "length": 4, "url": "https://example.org"},
        {"type": "bot_command", "offset": 15, "length": 5},
        {"type": "url", "offset": 24, "length": 21},
    ]
    status, bad = await call(client, api, "sendMessage", chat_id=3, text="<blink>x</blink>",
                             parse_mode="HTML")
    assert status == 400 and bad["description"].startswith("Bad Request: can't parse entities")


async def test_commands_by_scope_and_negative_offset(api, client):
    default = [{"command": "start", "description": "Start"}]
    admin = default + [{"command": "retrain", "description": "Retrain"}]
    await call(client, api, "setMyCommands", commands=default)
    await call(client, api, "setMyCommands", commands=admin, scope={"type": "chat", "chat_id": 5})
    assert (await call(client, api, "getMyCommands"))[1]["result"] == default
    chat_scope = {"type": "chat", "chat_id": 5}
    assert (await call(client, api, "getMyCommands", scope=chat_scope))[1]["result"] == admin
    assert api.commands == default and api.commands_for(5) == admin and api.commands_for(6) == default
    status, invalid = await call(client, api, "setMyCommands", commands=[{"command": "Stats!", "description": "x"}])
    assert (status, invalid["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")

    # Menus per two-letter language: a pt-br user sees the "pt" one; a language without one gets the default.
    portuguese = [{"command": "start", "description": "Começar"}]
    await call(client, api, "setMyCommands", commands=portuguese, language_code="pt")
    api.set_user(7, "João", language_code="pt-br")
    api.set_user(8, "Claire")
    api.set_user_language(8, "fr")
    assert (api.commands_for(7), api.commands_for(8)) == (portuguese, default)
    assert (await call(client, api, "getMyCommands", language_code="pt"))[1]["result"] == portuguese

    for text in ("one", "two", "three"):
        api.send_text(1, text)
    _, last = await call(client, api, "getUpdates", offset=-1)
    assert [update["message"]["text"] for update in last["result"]] == ["three"]


async def test_edit_message_text_replaces_text_and_keyboard_like_telegram(api, client):
    api.send_text(1, "hi")
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    sent = (await client.post(f"{api.base_url}{TOKEN}/sendMessage",
                              json={"chat_id": 1, "text": "one", "reply_markup": keyboard})).json()["result"]
    (message,) = await api.next_messages(1)
    edit = {"chat_id": 1, "message_id": sent["message_id"], "text": "two", "reply_markup": keyboard}
    edited = (await client.post(f"{api.base_url}{TOKEN}/editMessageText", json=edit)).json()
    assert edited["ok"] and edited["result"]["text"] == "two" and "edit_date" in edited["result"]
    assert edited["result"]["reply_markup"] == keyboard and message.edits == 1
    same = await client.post(f"{api.base_url}{TOKEN}/editMessageText", json=edit)
    assert same.status_code == 400 and "message is not modified" in same.json()["description"]
    # Without reply_markup, Telegram removes the inline keyboard.
    waiter = asyncio.create_task(api.next_edit(message))
    bare = (await client.post(f"{api.base_url}{TOKEN}/editMessageText",
                              json={**edit, "reply_markup": None, "text": "three"})).json()["result"]
    assert "reply_markup" not in bare
    assert (await waiter).text == "three" and message.reply_markup is None and message.buttons == []


async def test_edit_errors_match_telegram(api, client):
    import io

    from PIL import Image

    api.send_text(1, "hi")
    png = io.BytesIO()
    Image.new("L", (8, 8)).save(png, format="PNG")
    photo = (await client.post(f"{api.base_url}{TOKEN}/sendPhoto", data={"chat_id": "1"},
                               files={"photo": ("p.png", png.getvalue())})).json()["result"]
    text = (await client.post(f"{api.base_url}{TOKEN}/sendMessage", json={"chat_id": 1, "text": "hi"})).json()["result"]
    cases = [
        ({"message_id": 999, "text": "x"}, "Bad Request: message to edit not found"),
        ({"message_id": photo["message_id"], "text": "x"}, "Bad Request: there is no text in the message to edit"),
        ({"message_id": text["message_id"], "text": " "}, "Bad Request: message text is empty"),
    ]
    for params, description in cases:
        response = await client.post(f"{api.base_url}{TOKEN}/editMessageText", json={"chat_id": 1, **params})
        assert (response.status_code, response.json()["description"]) == (400, description)


async def test_callback_answer_is_awaitable(api, client):
    api.send_text(1, "hi")
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    await client.post(f"{api.base_url}{TOKEN}/sendMessage", json={"chat_id": 1, "text": "one", "reply_markup": keyboard})
    (message,) = await api.next_messages(1)
    query_id = api.press_button(1, message, "a")
    waiter = asyncio.create_task(api.callback_answer(query_id))
    await client.post(f"{api.base_url}{TOKEN}/answerCallbackQuery", json={"callback_query_id": query_id, "text": "ok"})
    assert (await waiter).text == "ok"


async def test_group_messages_carry_the_group_their_senders_mentions_and_replies(api, client):
    group = api.create_group(-1001, "Family", supergroup=True)
    assert group == {"id": -1001, "type": "supergroup", "title": "Family"}
    with pytest.raises(ValueError):
        api.create_group(5, "positive id")
    with pytest.raises(ValueError):
        api.send_text(1, "hi", chat_id=-42)  # no such group
    alice = api.send_text(1, "hello", chat_id=-1001)
    photo = api.send_photo(2, b"\xff\xd8", caption="@digitbot_local_bot /read", chat_id=-1001, reply_to=alice)
    assert photo["chat"] == group and photo["from"]["id"] == 2
    assert photo["message_id"] == alice["message_id"] + 1  # one id sequence per chat
    assert photo["caption_entities"] == [{"type": "mention", "offset": 0, "length": 19},
                                         {"type": "bot_command", "offset": 20, "length": 5}]
    assert photo["reply_to_message"]["message_id"] == alice["message_id"]
    with pytest.raises(ValueError):
        api.send_text(1, "elsewhere", reply_to=alice)  # a reply stays in its chat
    nested = api.send_text(1, "and?", chat_id=-1001, reply_to=photo)
    assert "reply_to_message" not in nested["reply_to_message"]  # Telegram does not nest replies
    updates = (await client.post(f"{api.base_url}{TOKEN}/getUpdates")).json()["result"]
    assert [update["message"]["chat"]["id"] for update in updates] == [-1001, -1001, -1001]


async def test_bot_replies_in_a_group_with_reply_parameters(api, client):
    api.create_group(-5, "Small group")
    photo = api.send_photo(3, b"\xff\xd8", chat_id=-5)
    sent = (await client.post(f"{api.base_url}{TOKEN}/sendMessage", json={
        "chat_id": -5, "text": "It's a 7", "reply_parameters": {"message_id": photo["message_id"]}})).json()
    assert sent["ok"] and sent["result"]["chat"]["type"] == "group"
    assert sent["result"]["reply_to_message"]["message_id"] == photo["message_id"]
    (message,) = api.messages(-5)
    edited = (await client.post(f"{api.base_url}{TOKEN}/editMessageText", json={
        "chat_id": -5, "message_id": message.message_id, "text": "It's a 1"})).json()["result"]
    assert edited["reply_to_message"]["message_id"] == photo["message_id"]  # an edit keeps the reply
    missing = (await client.post(f"{api.base_url}{TOKEN}/sendMessage", json={
        "chat_id": -5, "text": "x", "reply_parameters": {"message_id": 999}})).json()
    assert missing["description"] == "Bad Request: message to be replied not found"
    allowed = (await client.post(f"{api.base_url}{TOKEN}/sendMessage", json={
        "chat_id": -5, "text": "x",
        "reply_parameters": {"message_id": 999, "allow_sending_without_reply": True}})).json()
    assert allowed["ok"] and "reply_to_message" not in allowed["result"]
    unknown = (await client.post(f"{api.base_url}{TOKEN}/sendMessage", json={"chat_id": -6, "text": "x"})).json()
    assert unknown["description"] == "Bad Request: chat not found"
