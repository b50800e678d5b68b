"""Screenshots of a storm's page at desk and phone width, saved under /tmp for a person to look at.

The test only checks that the page fits (no sideways scrolling) and that the PNGs were written;
what they show is for the developer's eyes (see the closing note of issue 10).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.web import ServerProcess, open_live_without_sideways_scroll

pytest.importorskip("aiohttp")
OUT = Path("/tmp")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_screenshot(server: ServerProcess, open_browser: Callable[..., Any], width: int,
                    height: int) -> None:
    driver = open_browser(width=width, height=height)
    open_live_without_sideways_scroll(driver, server.url)
    top = OUT / f"warroom-web-{width}x{height}.png"
    assert driver.save_screenshot(str(top))
    driver.execute_script("document.getElementById('figures').scrollIntoView()")
    assert driver.save_screenshot(str(OUT / f"warroom-web-{width}x{height}-figures.png"))
    total = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(total + 200, 6000))
    full = OUT / f"warroom-web-{width}-full.png"
    assert driver.save_screenshot(str(full))
    assert top.stat().st_size > 10_000 and full.stat().st_size > 10_000
