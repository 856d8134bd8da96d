"""Make docs/playground.png: a conversation in the playground page, photographed by headless Chromium.

Usage (from the project root, with Playwright for Python, Debian's chromium and, for the
buttons' emoji, fonts-noto-color-emoji installed)::

    python docs/screenshot.py [--out docs/playground.png] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.config import load_settings  # noqa: E402

from bot.main import load_active_classifier  # noqa: E402
from bot.playground import HEADLESS_CHROMIUM_ARGS, serving  # noqa: E402

#: A phone-like photo of a handwritten 4 (blue pen, ruled paper) from the test fixtures.
PHOTO = ROOT / "tests" / "fixtures" / "photos" / "single_4_90022.jpg"


async def make(out: Path, chromium: str) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as home:
        environ = {**os.environ, "DIGITBOT_HOME": home}
        # The model `make playground` serves: the registry's active version (v1, the shipped model).
        classifier = load_active_classifier(load_settings(environ, require_token=False))
        async with (
            serving(classifier, port=0, environ=environ) as playground,
            async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(executable_path=chromium, args=list(HEADLESS_CHROMIUM_ARGS))
            page = await browser.new_page(
                viewport={"width": 760, "height": 1375}, device_scale_factor=1, locale="en-GB"
            )
            await page.goto(playground.url)
            await page.locator("#status.online").wait_for()
            await page.set_input_files("#file", str(PHOTO))
            answer = page.locator(".msg.in", has_text="It's a 4")
            await answer.wait_for()
            await answer.locator(".key", has_text="Right").click()
            await answer.locator(".meta .edited").wait_for()
            await page.locator("#toast").wait_for(state="hidden", timeout=10_000)
            await page.fill("#text", "/stats")
            await page.press("#text", "Enter")
            await page.locator(".msg.in .text", has_text="Confusion matrix").wait_for()
            await page.wait_for_function("[...document.images].every((image) => image.complete)")
            await page.locator("#text").blur()
            await page.evaluate("document.getElementById('chat').scrollTop = 1e9")
            await page.wait_for_timeout(300)
            png = await page.screenshot()
            await browser.close()
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    image.save(out, optimize=True)
    print(f"{out}: {out.stat().st_size / 1024:.0f} KB")


def main() -> None:
    """Parse the arguments and write the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "playground.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    asyncio.run(make(args.out, args.chromium))


if __name__ == "__main__":
    main()
