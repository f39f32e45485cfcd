"""The reference workflow in the console, in a real browser against a real server process:
log in, open the pipeline, open the failing scan, filter to critical, upload the fixed scan and
compare, accept a risk, create and revoke a token."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect
from tests.server.browser.conftest import ADMIN, ADMIN_PASSWORD, RunningServer, Shots
from tests.server.browser.scan_documents import STORY_REPOSITORY, StoryScans


def log_in(
    page: Page, server: RunningServer, password: str = ADMIN_PASSWORD, username: str = ADMIN
) -> None:
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_pipeline_story(page: Page, server: RunningServer, story: StoryScans, shots: Shots) -> None:
    token = server.token("scan:write", "read")
    vulnerable = server.upload(token, story.vulnerable)
    assert vulnerable["created"] is True

    log_in(page, server)
    expect(page.get_by_role("heading", name="Pipeline scans")).to_be_visible()
    rows = page.locator("#scans tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(STORY_REPOSITORY)
    expect(rows.first).to_contain_text("FAILED")
    expect(rows.first).to_contain_text("1 critical (1 fixable)")
    expect(rows.first).to_contain_text("1 high (1 fixable)")
    expect(rows.first).to_contain_text("3 medium (3 fixable)")
    expect(rows.first.get_by_role("link", name="run")).to_have_attribute(
        "href", re.compile(r"^https://ci\.example\.test/")
    )
    shots("pipeline")

    rows.first.get_by_role("link", name=STORY_REPOSITORY).click()
    expect(page).to_have_url(f"{server.url}/scans/{vulnerable['id']}")
    expect(page.locator("h1")).to_contain_text("FAILED")
    expect(page.locator(".rule.failed")).to_contain_text("severity_with_fix")
    expect(page.locator(".rule.failed")).to_contain_text("MAMORI-TEST-0001 express 4.18.2")
    findings = page.locator("#findings")
    expect(findings.locator("caption")).to_have_text("5 vulnerabilities")
    expect(page.get_by_role("region", name="Image configuration")).to_contain_text("root_user")
    shots("failing-scan")

    page.get_by_label("Severity").select_option("critical")  # HTMX swaps the table
    expect(findings.locator("caption")).to_have_text("1 vulnerability match the filters")
    expect(page).to_have_url(re.compile(r"severity=critical"))
    expect(findings.locator("tbody tr")).to_have_count(1)
    expect(findings.locator("tbody tr").first).to_contain_text("MAMORI-TEST-0001")
    expect(findings.locator("tbody tr").first).to_contain_text("express")
    shots("filtered-critical")
    page.reload()  # the URL alone reproduces the filtered view
    expect(findings.locator("caption")).to_have_text("1 vulnerability match the filters")

    page.get_by_role("link", name="Layers (4)").click()
    layer_rows = page.locator("tbody tr")
    expect(layer_rows).to_have_count(4)
    expect(layer_rows.nth(3)).to_contain_text("RUN npm install express@4.18.2 lodash@4.17.20")
    expect(layer_rows.nth(3)).to_contain_text("1 critical")
    shots("layers")

    fixed = server.upload(token, story.fixed)
    assert fixed["url"] == f"{server.url}/scans/{fixed['id']}"
    page.goto(fixed["url"])
    expect(page.locator("h1")).to_contain_text("PASSED")
    expect(findings.locator("caption")).to_have_text("0 vulnerabilities")
    page.get_by_role("link", name="Compare with the previous scan").click()
    expect(page.locator("#count-new")).to_have_text("New: 0")
    expect(page.locator("#count-fixed")).to_have_text("Fixed: 5")
    expect(page.locator("#count-unchanged")).to_have_text("Unchanged: 0")
    fixed_table = page.locator("table", has=page.locator("caption", has_text="gone since"))
    expect(fixed_table.locator("tbody tr")).to_have_count(5)
    changes = page.locator("table", has=page.locator("caption", has_text="Packages added"))
    expect(changes).to_contain_text("lodash")
    expect(changes).to_contain_text("removed")
    shots("compare")

    page.goto(f"{server.url}/scans/{vulnerable['id']}?severity=critical")
    row = findings.locator("tbody tr").first
    row.locator("summary").click()
    row.get_by_label("Reason").fill("Not reachable: the app never parses untrusted routes.")
    row.get_by_role("button", name="Accept risk", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Risk acceptance \d+ created\."))
    accepted = page.locator("tbody tr").first
    expect(accepted).to_contain_text("MAMORI-TEST-0001")
    expect(accepted).to_contain_text("Not reachable")
    expect(accepted).to_contain_text("active")
    shots("acceptance")
    listed = httpx.get(
        f"{server.url}/api/v1/acceptances",
        params={"image": f"{STORY_REPOSITORY}:a1b2c3d"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["items"]
    assert [(a["vulnerability"], a["author"]) for a in listed] == [("MAMORI-TEST-0001", ADMIN)]

    page.get_by_label(re.compile(r"Reason to revoke")).fill("express upgraded")
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Risk acceptance \d+ revoked\."))
    expect(page.locator("caption")).to_have_text("0 active acceptances")

    page.goto(fixed["url"])
    page.get_by_role("navigation", name="Scan").get_by_role("link", name="Trend").click()
    points = page.locator("svg.trend circle")
    expect(points).to_have_count(6)  # two scans × critical, high, medium
    expect(points.first.locator("title")).to_contain_text("1 critical")
    shots("trend")


def test_tokens_create_and_revoke(page: Page, server: RunningServer, shots: Shots) -> None:
    log_in(page, server)
    page.get_by_role("link", name="Tokens").click()
    page.get_by_label("Name").fill("ci-upload")
    page.get_by_label("read").check()
    page.get_by_role("button", name="Create token").click()
    plaintext = page.locator("#new-token").inner_text()
    assert re.fullmatch(r"mamori_[A-Za-z0-9_-]{43}", plaintext)
    row = page.locator("tbody tr", has_text="ci-upload")
    expect(row).to_contain_text("read scan:write")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text(plaintext[:13])  # the prefix only, in the list
    shots("token-created")
    api = f"{server.url}/api/v1/scans"
    assert httpx.get(api, headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200

    page.goto(server.url + "/tokens")  # shown once: the list never shows it again
    expect(page.locator("#new-token")).to_have_count(0)
    assert plaintext not in page.content()

    forged = page.request.post(f"{server.url}/tokens", form={"name": "forged", "scope": "read"})
    assert forged.status == 403  # same cookies, no CSRF token
    assert "CSRF" in forged.text()

    page.get_by_role("button", name="Revoke token ci-upload").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Token \d+ revoked\."))
    expect(page.locator("tbody tr", has_text="ci-upload")).to_contain_text("revoked")
    shots("token-revoked")
    assert httpx.get(api, headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(server.url + "/tokens")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ftokens$"))


def test_expired_session_during_htmx_swap(page: Page, server: RunningServer) -> None:
    """The login form replaces the whole page, never just the swapped table."""
    log_in(page, server)
    expect(page.get_by_role("heading", name="Pipeline scans")).to_be_visible()
    page.context.clear_cookies()
    page.get_by_label("Verdict").select_option("failed")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F%3F.*verdict%3Dfailed"))
    expect(page.get_by_role("heading", name="Log in to mamori")).to_be_visible()
    expect(page.get_by_role("heading", name="Pipeline scans")).to_have_count(0)


def test_login_errors(page: Page, server: RunningServer, shots: Shots) -> None:
    log_in(page, server, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    shots("wrong-password")
    for _ in range(4):  # five failures in the window: the next attempt is refused
        page.get_by_label("Password").fill("still not it")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill(ADMIN_PASSWORD)  # even the right one, while throttled
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"Too many failed logins: try again in \d+ seconds\.")
    )
    shots("throttled")


def test_viewer_cannot_accept_risk(page: Page, server: RunningServer, story: StoryScans) -> None:
    admin_token = server.token("admin")
    created = httpx.post(
        f"{server.url}/api/v1/users",
        json={"username": "vera", "password": "viewer password 1", "role": "viewer"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert created.status_code == 201, created.text
    scan = server.upload(admin_token, story.vulnerable)
    log_in(page, server, password="viewer password 1", username="vera")
    page.goto(scan["url"])
    expect(page.locator("#findings caption")).to_have_text("5 vulnerabilities")
    expect(page.locator("#findings thead")).not_to_contain_text("Risk")
    expect(page.get_by_text("Accept risk")).to_have_count(0)

    csrf = page.locator("header input[name=csrf_token]").get_attribute("value")
    assert csrf
    form = {
        "csrf_token": csrf, "vulnerability": "MAMORI-TEST-0001", "reason": "because",
        "expires": "2099-01-01",
    }  # fmt: skip
    refused = page.request.post(f"{server.url}/acceptances", form=form)
    assert refused.status == 403
    assert "analyst or admin role" in refused.text()
    page.goto(server.url + "/acceptances?state=all")
    expect(page.locator("caption")).to_have_text("0 acceptances")
