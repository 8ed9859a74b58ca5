"""The API docs page in a real Chromium, under the site's Content-Security-Policy."""

import os
import shutil

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def chromium_page():
    if not shutil.which(CHROMIUM):
        if os.environ.get("COOLHEAD_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium is required (COOLHEAD_REQUIRE_BROWSER) but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI installs it)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        page = browser.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def test_the_docs_render_every_operation_without_a_csp_violation(chromium_page, live_server):
    console: list[str] = []
    failed: list[str] = []
    chromium_page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    chromium_page.on("requestfailed", lambda request: failed.append(request.url))
    response = chromium_page.goto(live_server.url + "/api/v1/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    chromium_page.wait_for_selector(".opblock")
    assert chromium_page.locator(".opblock").count() >= 20
    assert "Coolhead API" in chromium_page.locator(".info .title").first.inner_text()
    # A blocked inline script or style shows up as a console error.
    assert [m for m in console if m.startswith("error")] == []
    assert failed == []
