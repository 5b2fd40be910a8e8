"""Headless Chromium from the system's packages (Debian `chromium`, `chromium-driver`) driven by selenium:
nothing is downloaded at run time. `browser()` says why it cannot start where they are absent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
DESKTOP, PHONE = (1280, 800), (390, 844)


def missing() -> str | None:
    """Why no browser can be driven here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for tool in ("chromium", "chromedriver"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH (apt-get install chromium chromium-driver)"
    return None


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium with a fresh profile, its console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def resize(driver: Any, size: tuple[int, int], height: int | None = None) -> None:
    """The page's viewport exactly `size` (a phone's as a mobile device), or `height` tall."""
    width, tall = size
    metrics = {"width": width, "height": height or tall, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def open_page(driver: Any, path: Path, size: tuple[int, int] = DESKTOP) -> list[dict]:
    """Open a page from the file system at a viewport size; its console errors (and failed loads)."""
    resize(driver, size)
    driver.get(path.resolve().as_uri())
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: Any, target: Path, size: tuple[int, int]) -> None:
    """The whole page at `size`'s width (its full height, up to 8000 px), as a PNG."""
    full = driver.execute_script("return document.documentElement.scrollHeight")
    resize(driver, size, min(max(size[1], full), 8000))
    driver.save_screenshot(str(target))
    resize(driver, size)
