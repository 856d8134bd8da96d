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
