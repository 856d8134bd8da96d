"""The local Bot API server's webhook: setWebhook/deleteWebhook/getWebhookInfo and delivery by POST."""

import asyncio
import json

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from bot_fakes import TOKEN

from bot.local_api import LocalBotApi

SECRET = "s3cret_-token"


class Receiver:
    """A tiny HTTP server standing in for the bot's webhook: records each POST, answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict, str | None]] = []
        self.status = 200
        self.arrived = asyncio.Event()

    async def __aenter__(self) -> "Receiver":
        receiver = self

        class Hook(tornado.web.RequestHandler):
            def post(self) -> None:
                receiver.posts.append((json.loads(self.request.body),
                                       self.request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
                receiver.arrived.set()
                self.set_status(receiver.status)

        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/hook", Hook)]))
        self.server.add_sockets(sockets)
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.stop()
        await self.server.close_all_connections()

    async def next_post(self, timeout: float = 5.0) -> tuple[dict, str | None]:
        count = len(self.posts)
        while len(self.posts) == count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout)
        return self.posts[count]


@pytest.fixture
async def api():
    async with LocalBotApi(TOKEN) as server:
        server.webhook_retry_delay = 0.05
        yield server


@pytest.fixture
async def call(api):
    async with httpx.AsyncClient(timeout=5) as http:
        async def call(method: str, **params) -> httpx.Response:
            return await http.post(f"{api.base_url}{TOKEN}/{method}", json=params)

        yield call


async def test_updates_are_posted_with_the_secret_and_polling_conflicts(api, call):
    async with Receiver() as receiver:
        response = await call("setWebhook", url=receiver.url, secret_token=SECRET, allowed_updates=["message"])
        assert response.json() == {"ok": True, "result": True}
        api.send_text(7, "hello")
        update, secret = await receiver.next_post()
        assert update["message"]["text"] == "hello" and secret == SECRET
        info = (await call("getWebhookInfo")).json()["result"]
        assert info["url"] == receiver.url and info["pending_update_count"] == 0
        assert info["allowed_updates"] == ["message"] and "last_error_message" not in info

        conflict = await call("getUpdates")
        assert conflict.status_code == 409 and conflict.json()["description"].startswith("Conflict: ")

        assert (await call("deleteWebhook")).json()["result"] is True
        assert (await call("getWebhookInfo")).json()["result"]["url"] == ""
        assert api.webhook_url is None
        api.send_text(7, "polled")
        polled = (await call("getUpdates")).json()["result"]
        assert [update["message"]["text"] for update in polled] == ["polled"]
        assert len(receiver.posts) == 1


async def test_a_refused_delivery_is_retried_in_order_and_reported(api, call):
    async with Receiver() as receiver:
        receiver.status = 403
        await call("setWebhook", url=receiver.url)
        api.send_text(7, "first")
        api.send_text(7, "second")
        await receiver.next_post()
        await asyncio.sleep(0.1)
        info = (await call("getWebhookInfo")).json()["result"]
        assert info["pending_update_count"] == 2
        assert info["last_error_message"] == "Wrong response from the webhook: 403 Forbidden"
        receiver.status = 200
        for _ in range(20):
            if not (await call("getWebhookInfo")).json()["result"]["pending_update_count"]:
                break
            await asyncio.sleep(0.05)
        texts = [update["message"]["text"] for update, _ in receiver.posts]
        assert set(texts) == {"first", "second"} and texts[-2:] == ["first", "second"]
        assert all(text == "first" for text in texts[:-2])  # the head of the queue is retried, in order


async def test_drop_pending_updates_and_unasked_update_types(api, call):
    async with Receiver() as receiver:
        api.send_text(7, "old")
        await call("setWebhook", url=receiver.url, drop_pending_updates=True, allowed_updates=["callback_query"])
        api.send_text(7, "a message the bot did not ask for")
        await asyncio.sleep(0.2)
        assert receiver.posts == []
        assert (await call("getWebhookInfo")).json()["result"]["pending_update_count"] == 0


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"url": "http://bot.example.com/hook"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        ({"url": "https://bot.example.com:8080/hook"},
         "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"),
        ({"url": "https://bot.example.com/hook", "secret_token": "no spaces"},
         "Bad Request: secret token contains unallowed characters"),
    ],
)
async def test_bad_webhooks_are_refused_as_telegram_does(call, params, description):
    response = await call("setWebhook", **params)
    assert (response.status_code, response.json()["description"]) == (400, description)
    assert (await call("getWebhookInfo")).json()["result"]["url"] == ""


async def test_an_https_webhook_on_an_allowed_port_is_accepted(api, call):
    assert (await call("setWebhook", url="https://bot.example.com:8443/hook")).json()["result"] is True
    assert api.webhook_url == "https://bot.example.com:8443/hook"
    await call("deleteWebhook")
