"""Hostile strings (HTML, script, SQL, 5,000 characters) in image names, tags, CI fields,
package names, layer commands and advisory text render inert on every console page: no script
runs, no element is injected, the text shows as text, the page stays usable."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect
from tests.server.browser.conftest import RunningServer, Shots
from tests.server.browser.scan_documents import HOSTILE_PACKAGE
from tests.server.browser.test_console_story import log_in

LINKS = {
    "packages": re.compile(r"^Packages \(\d+\)$"),
    "layers": re.compile(r"^Layers \(\d+\)$"),
    "compare": "Compare with the previous scan",
    "trend": "Trend",
}


def assert_inert(page: Page) -> None:
    """No hostile script ran and no hostile element exists; the page is the console's."""
    assert page.evaluate("window.__pwned") is None
    assert page.title() != "pwned"  # the hostile text may show in the title, as text
    assert page.locator("img").count() == 0  # the console has no images: any is injected
    assert page.locator("main script, main iframe").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    expect(page.locator("header.top .brand")).to_have_text("mamori")


def test_hostile_strings_render_inert(
    page: Page, server: RunningServer, hostile: list[dict[str, Any]], shots: Shots
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    token = server.token("scan:write")
    uploaded = [server.upload(token, document) for document in hostile]
    newest = uploaded[-1]["id"]
    log_in(page, server)

    assert_inert(page)
    expect(page.locator("#scans tbody tr")).to_have_count(2)
    expect(page.locator("#scans tbody tr").first).to_contain_text("<script>")
    shots("pipeline")

    page.goto(f"{server.url}/scans/{newest}")
    assert_inert(page)
    expect(page.locator("h1")).to_contain_text("<script>document.title")
    expect(page.locator("#findings tbody")).to_contain_text(HOSTILE_PACKAGE[:40])
    expect(page.locator("#findings tbody")).to_contain_text("DROP TABLE scans")
    shots("scan")

    page.get_by_label("Text").fill("<script>")
    page.get_by_label("Text").press("Enter")  # HTMX swap with hostile rows
    expect(page.locator("#findings caption")).to_have_text("1 vulnerability match the filters")
    assert_inert(page)

    for name, link in LINKS.items():
        page.goto(f"{server.url}/scans/{newest}")
        page.get_by_role("navigation", name="Scan").get_by_role("link", name=link).click()
        expect(page.locator("h1")).to_contain_text("<script>")
        assert_inert(page)
        shots(name)

    page.goto(f"{server.url}/scans/{newest}?q=DROP")
    row = page.locator("#findings tbody tr").first
    row.locator("summary").click()
    row.get_by_label("Reason").fill('<img src=x onerror="window.__pwned=1"> \'; DROP TABLE x; --')
    row.get_by_role("button", name="Accept risk", exact=True).click()
    expect(page.locator("tbody tr").first).to_contain_text(HOSTILE_PACKAGE[:40])
    expect(page.locator("tbody tr").first).to_contain_text("<img src=x onerror=")
    assert_inert(page)
    shots("acceptances")

    for path in ("/images", "/tokens", "/?q=%3Cscript%3E", "/?repository=%3Cscript%3E"):
        page.goto(server.url + path)
        assert_inert(page)
    shots("images-filtered")
    assert dialogs == []
