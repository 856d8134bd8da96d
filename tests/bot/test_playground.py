"""The playground: its chat API, the ``digitbot playground`` command, and the page in headless Chromium."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from bot_fakes import digit_photo, png_of

from bot import i18n, messages
from bot.playground import HEADLESS_CHROMIUM_ARGS, USER_ID, run_playground, serving
from bot.playground.web import LANGUAGE_COOKIE, page_texts

EN = i18n.english()

pytestmark = pytest.mark.e2e

HEADERS = {"X-Playground": "1"}
#: A phone-like photo of a handwritten 4 (blue pen on ruled paper).
PHOTO_OF_A_4 = Path(__file__).parent.parent / "fixtures" / "photos" / "single_4_90022.jpg"


@pytest.fixture
async def playground(classifier, tmp_path):
    """A playground on a free port with its state in ``tmp_path``."""
    async with serving(classifier, port=0, environ={**os.environ, "DIGITBOT_HOME": str(tmp_path)}) as running:
        yield running


async def events_until(
    client: httpx.AsyncClient, url: str, after: int, predicate, timeout: float = 20.0
) -> list[dict]:
    """Long-poll ``/api/updates`` until ``predicate(events)`` holds; returns all events after ``after``."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while not predicate(events):
        assert time.monotonic() < deadline, (
            f"timed out; events so far: {[(e['kind'], e['data'].get('text')) for e in events]}"
        )
        body = (await client.get(f"{url}api/updates", params={"after": after, "timeout": 2})).json()
        events += body["events"]
        after = events[-1]["seq"] if events else after
    return events


def bot_messages(events: list[dict]) -> list[dict]:
    return [
        event["data"] for event in events if event["kind"] == "message" and event["data"]["from"]["is_bot"]
    ]


async def test_page_and_chat_api(playground, real_model):
    url = playground.url
    assert USER_ID in playground.settings.admin_ids
    async with httpx.AsyncClient(timeout=30) as client:
        page = await client.get(url)
        assert page.status_code == 200 and "<title>digitbot playground</title>" in page.text
        for name in ("app.js", "style.css", "icon.svg"):
            assert (await client.get(f"{url}static/{name}")).status_code == 200

        forged = await client.post(f"{url}api/messages", json={"text": "/start"})
        assert forged.status_code == 403  # no X-Playground header: maybe another web page posting

        sent = await client.post(f"{url}api/messages", json={"text": "/start"}, headers=HEADERS)
        assert sent.json()["ok"]
        events = await events_until(client, url, 0, lambda events: bot_messages(events))
        own = events[0]["data"]
        assert own["text"] == "/start" and own["entities"][0]["type"] == "bot_command"
        greeting = bot_messages(events)[0]
        assert greeting["text"].startswith("Hi!")
        before = greeting["text"][: greeting["text"].index("/stats")]
        # Entity offsets count UTF-16 code units: the emoji before count two each.
        offset = len(before.encode("utf-16-le")) // 2
        assert {"type": "bot_command", "offset": offset, "length": 6} in greeting["entities"]
        updates = (
            await client.get(f"{url}api/updates", params={"after": events[-1]["seq"], "timeout": 0})
        ).json()
        assert updates["bot"]["online"]
        assert [c["command"] for c in updates["bot"]["commands"]][:3] == ["start", "help", "stats"]

        # A PNG upload is sent as Telegram's apps send photos: a JPEG of at most 1280 pixels.
        after = events[-1]["seq"]
        files = {"file": ("seven.png", png_of(digit_photo("7", size=(2000, 1500))), "image/png")}
        assert (await client.post(f"{url}api/messages", files=files, headers=HEADERS)).json()["ok"]
        events = await events_until(client, url, after, lambda events: bot_messages(events))
        photo = (await client.get(url + events[0]["data"]["photo_url"].lstrip("/"))).content
        from PIL import Image

        with Image.open(io.BytesIO(photo)) as image:
            assert (image.format, max(image.size)) == ("JPEG", 1280)
        reply = bot_messages(events)[0]
        assert reply["text"].startswith("It's a 7")
        buttons = [button for row in reply["reply_markup"]["inline_keyboard"] for button in row]
        data = next(button["callback_data"] for button in buttons if button["text"] == messages.saw_button(EN))

        wrong = await client.post(
            f"{url}api/callback",
            json={"message_id": reply["message_id"], "callback_data": "nope"},
            headers=HEADERS,
        )
        assert wrong.status_code == 400
        after = events[-1]["seq"]
        pressed = await client.post(
            f"{url}api/callback",
            json={"message_id": reply["message_id"], "callback_data": data},
            headers=HEADERS,
        )
        query_id = pressed.json()["callback_query_id"]
        events = await events_until(client, url, after, lambda events: bot_messages(events))
        answers = [e["data"]["callback_query_id"] for e in events if e["kind"] == "callback_answer"]
        assert answers == [query_id]
        (steps,) = bot_messages(events)
        assert (await client.get(url + steps["photo_url"].lstrip("/"))).headers["Content-Type"] == "image/png"


def page_language(page: httpx.Response) -> tuple[str, dict]:
    """The page's ``<html lang>`` and the texts it hands to app.js."""
    lang = re.search(r'<html lang="([\w-]+)">', page.text).group(1)
    texts = re.search(r'<script type="application/json" id="texts">(.*?)</script>', page.text, re.S).group(1)
    return lang, json.loads(texts)


async def ask(client: httpx.AsyncClient, url: str, text: str) -> dict:
    """Send ``text`` from the page; returns the bot's first answer (a Bot API message)."""
    after = (await client.get(f"{url}api/updates", params={"after": 0, "timeout": 0})).json()["events"]
    after = after[-1]["seq"] if after else 0
    assert (await client.post(f"{url}api/messages", json={"text": text}, headers=HEADERS)).json()["ok"]
    return bot_messages(await events_until(client, url, after, lambda events: bot_messages(events)))[0]


async def test_page_and_bot_follow_the_browsers_language_and_the_selector(playground):
    url = playground.url
    spanish, german = i18n.get("es"), i18n.get("de")
    async with httpx.AsyncClient(timeout=30) as client:
        page = await client.get(url, headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.8"})
        assert page.headers["Content-Language"] == "es"
        assert page_language(page) == ("es", page_texts(spanish))
        assert "<title>digitbot: zona de pruebas</title>" in page.text
        assert '<option value="es" lang="es" selected>Español</option>' in page.text
        assert "<p>Escribe <code>/help</code> para ver consejos sobre las fotos" in page.text
        # The person at the page is a Telegram user whose app speaks the page's language.
        assert (await ask(client, url, "/help"))["text"] == messages.help_text(spanish, admin=True)  # an admin
        updates = (await client.get(f"{url}api/updates", params={"after": 0, "timeout": 0})).json()
        assert updates["bot"]["commands"][0]["description"] == "Qué hace este bot"

        # The selector: a cookie, and the Telegram user's language, whatever the browser says.
        chosen = await client.post(f"{url}api/language", json={"language": "de"}, headers=HEADERS)
        assert chosen.json() == {"ok": True, "language": "de"}
        assert f"{LANGUAGE_COOKIE}=de" in chosen.headers["Set-Cookie"]
        page = await client.get(url, headers={"Accept-Language": "es"})
        assert page_language(page) == ("de", page_texts(german))
        assert (await ask(client, url, "/help"))["text"] == messages.help_text(german, admin=True)

        for body in ({"language": "fr"}, {"language": None}, [1], "not json"):
            content = body if isinstance(body, str) else json.dumps(body)
            refused = await client.post(f"{url}api/language", content=content, headers=HEADERS)
            assert refused.status_code == 400
        assert (await client.post(f"{url}api/language", json={"language": "ru"})).status_code == 403
        client.cookies.set(LANGUAGE_COOKIE, "tlh")  # not a language of the selector: the browser's counts
        assert page_language(await client.get(url, headers={"Accept-Language": "ru, en"}))[0] == "ru"
        client.cookies.clear()
        assert page_language(await client.get(url, headers={"Accept-Language": "fr"}))[0] == "en"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_playground_serves_until_sigint(classifier, monkeypatch, tmp_path, capsys):
    from core.classifier import Classifier

    monkeypatch.setattr(Classifier, "from_path", classmethod(lambda cls, path: classifier))
    monkeypatch.setenv("DIGITBOT_HOME", str(tmp_path / "state"))
    levels = {name: logging.getLogger(name).level for name in ("telegram", "tornado")}
    port = free_port()
    seen: dict[str, int] = {}

    def visit_then_interrupt() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "status" not in seen:
            try:
                seen["status"] = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code
            except httpx.HTTPError:
                time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does

    visitor = threading.Thread(target=visit_then_interrupt)
    visitor.start()
    try:
        started = time.monotonic()
        status = run_playground(port=port)
        stop_seconds = time.monotonic() - started
    finally:
        visitor.join()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    out = capsys.readouterr().out
    assert status == 0 and seen == {"status": 200}
    assert f"open http://127.0.0.1:{port}/ in your browser" in out and out.rstrip().endswith("Stopped.")
    assert (tmp_path / "state").is_dir()
    assert stop_seconds < 15
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))


def test_run_playground_reports_a_busy_port(classifier, monkeypatch, capsys):
    from core.classifier import Classifier

    monkeypatch.setattr(Classifier, "from_path", classmethod(lambda cls, path: classifier))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert run_playground(port=busy.getsockname()[1]) == 2
    assert "try another --port" in capsys.readouterr().err


def chromium_path() -> str:
    """Debian's chromium (or ``$DIGITBOT_CHROMIUM``); skips the test when there is none."""
    path = os.environ.get("DIGITBOT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no Chromium found (apt-get install chromium, or set DIGITBOT_CHROMIUM)")
    return path


async def test_browser_conversation(real_model, playground):
    """Headless Chromium: send a photo, read the answer, say it is right, see what the bot saw, run /stats."""
    async_api = pytest.importorskip("playwright.async_api", reason="needs Playwright for Python")
    executable = chromium_path()
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=list(HEADLESS_CHROMIUM_ARGS))
        try:
            page = await browser.new_page(viewport={"width": 800, "height": 900})
            page.set_default_timeout(20_000)
            await page.goto(playground.url)
            await page.locator("#status.online").wait_for()

            await page.set_input_files("#file", str(PHOTO_OF_A_4))
            answer = page.locator(".msg.in", has_text="It's a 4")
            await answer.wait_for()
            assert await page.locator(".msg.out img.photo").count() == 1

            # Feedback: "Right" answers with a toast and edits the reading in place (its Right/Wrong go).
            await answer.locator(".key", has_text=messages.right_button(EN)).click()
            await page.locator("#toast", has_text=messages.feedback_thanks(EN)).wait_for()
            await answer.locator(".meta .edited").wait_for()
            assert await answer.locator(".key", has_text=messages.wrong_button(EN)).count() == 0
            assert await page.locator(".msg").count() == 2

            await answer.locator(".key", has_text=messages.saw_button(EN)).click()
            steps = page.locator(".msg.in img.photo").first
            await steps.wait_for()
            assert await steps.evaluate("(image) => image.decode().then(() => image.naturalWidth)") > 0

            await page.fill("#text", "/stats")
            await page.press("#text", "Enter")
            await page.locator(".msg.in", has_text="Test accuracy").wait_for()
            matrix = page.locator(".msg.in img.photo[alt^='Confusion matrix']")
            await matrix.wait_for()
            assert await matrix.evaluate("(image) => image.decode().then(() => image.naturalWidth)") > 0
        finally:
            await browser.close()


async def test_browser_in_spanish_then_german_from_the_selector(playground):
    """Headless Chromium set to Spanish: the page and the bot speak Spanish; the selector switches both to German."""
    async_api = pytest.importorskip("playwright.async_api", reason="needs Playwright for Python")
    executable = chromium_path()
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=list(HEADLESS_CHROMIUM_ARGS))
        try:
            context = await browser.new_context(locale="es-ES", viewport={"width": 800, "height": 900})
            page = await context.new_page()
            page.set_default_timeout(20_000)
            await page.goto(playground.url)
            await page.locator("#status.online").wait_for()
            assert await page.get_attribute("#text", "placeholder") == "Mensaje o /comando"
            await page.locator("#commands .chip[title='Qué hace este bot']").wait_for()

            await page.click("#start")
            await page.locator(".msg.in", has_text="¡Hola! Leo dígitos escritos a mano").wait_for()

            await page.select_option("#language", "de")  # the page reloads in German
            await page.locator("#text[placeholder='Nachricht oder /Befehl']").wait_for()
            assert await page.get_attribute("html", "lang") == "de"
            await page.fill("#text", "/help")
            await page.press("#text", "Enter")
            await page.locator(".msg.in", has_text="Ich lese handgeschriebene Ziffern auf Fotos").wait_for()
            await page.locator("#status.online", has_text="Bot · online").wait_for()
        finally:
            await browser.close()


def test_uploads_are_sent_as_telegram_sends_photos():
    from PIL import Image

    from bot.playground.web import telegram_photo

    # A phone photo stored sideways (4000x3000 pixels) with EXIF orientation 6: "rotate 90° to view".
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), "white").save(buffer, format="JPEG", exif=exif)
    with Image.open(io.BytesIO(telegram_photo(buffer.getvalue()))) as sent:
        assert (sent.format, sent.size) == ("JPEG", (960, 1280))  # upright, 1280 on the long side
        assert sent.getexif().get(0x0112) is None
    assert telegram_photo(b"not an image") is None


def test_stored_files_are_served_with_the_type_their_bytes_show():
    import cv2
    import numpy as np

    from bot.playground.web import _sniff

    image = np.full((8, 8, 3), 200, np.uint8)
    for extension, expected in ((".png", "image/png"), (".jpg", "image/jpeg"), (".bmp", "image/bmp"),
                                (".tiff", "image/tiff"), (".webp", "image/webp")):
        assert _sniff(cv2.imencode(extension, image)[1].tobytes()) == expected, extension
    iphone_photo = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    assert _sniff(iphone_photo) == "image/heic"
    assert _sniff(b"\x00\x00\x00\x1cftypavif" + bytes(64)) == "image/avif"
    assert _sniff(b"\x00\x00\x00\x18ftypmp42" + bytes(64)) == "application/octet-stream"  # a video
    assert _sniff(b"BM is how this note starts") == "application/octet-stream"
