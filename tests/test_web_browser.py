"""The web app in a real browser: Debian's headless Chromium driven by Playwright against a uvicorn
server on a free local port (no downloaded browser). Marked ``services``: `make test-services`
installs chromium with apt-get when it is missing.

``ICPKIT_WEB_SCREENSHOTS=docs`` also saves the screenshots of the main pages as docs/web-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("playwright.sync_api")


from browser_kit import CHROMIUM, chromium, serving, shoot
from icpkit.web.app import create_app
from icpkit.web.keys import KeyStore

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test-services installs it)")
    from test_web import make_workspace

    workspace = make_workspace(tmp_path_factory.mktemp("browser"))
    store = KeyStore(workspace)
    keys = {scope: store.create(scope)[0] for scope in ("read", "write")}
    with serving(create_app(workspace)) as base:
        yield base, workspace, keys


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


def login(page: object, base: str, key: str) -> None:
    page.goto(base + "/")  # type: ignore[attr-defined]
    assert page.url.endswith("/login")  # type: ignore[attr-defined]
    page.get_by_label("API key").fill(key)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]


def test_the_key_is_required(site: tuple[str, Path, dict[str, str]], browser: object) -> None:
    base, _, _ = site
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(base + "/revops")
    assert page.url.endswith("/login")
    page.get_by_label("API key").fill("icpk_00000000_not-a-key")
    page.get_by_role("button", name="Log in").click()
    assert "not valid" in page.get_by_role("alert").inner_text()
    assert page.context.cookies() == []


def test_a_rep_looks_up_an_account_and_sees_tier_and_reasons(
    site: tuple[str, Path, dict[str, str]], browser: object, tmp_path: Path
) -> None:
    base, workspace, keys = site
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    name = accounts["name"][5]
    page = browser.new_page(viewport={"width": 1000, "height": 760})  # type: ignore[attr-defined]
    login(page, base, keys["read"])
    page.get_by_label("Name or domain").fill(name)
    page.get_by_role("button", name="Search").click()
    shoot(page, "search", tmp_path)
    page.get_by_role("link", name=name).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == name
    tier = page.locator(".tier.big").inner_text()
    assert tier in ("Tier 1", "Tier 2", "Tier 3", "Non-fit")
    assert page.get_by_role("heading", name="Why", exact=True).is_visible()
    assert page.get_by_role("heading", name="Who to reach").is_visible()
    page.get_by_text("Analyst details").click()  # rules and points: one click away for reps
    assert page.get_by_role("heading", name="ICP criteria").is_visible()
    assert page.locator("text=points").first.is_visible()
    page.get_by_text("Analyst details").click()
    shoot(page, "account", tmp_path)
    phone = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    phone.context.add_cookies(page.context.cookies())
    phone.goto(page.url)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the account page scrolls sideways at phone width ({width}px)"
    shoot(phone, "account-phone", tmp_path)


def test_revops_uploads_a_list_and_downloads_the_scored_file(
    site: tuple[str, Path, dict[str, str]], browser: object, tmp_path: Path
) -> None:
    base, workspace, keys = site
    listing = tmp_path / "prospects.csv"
    pl.read_csv(workspace / "accounts.csv", infer_schema_length=0).head(30).write_csv(listing)
    page = browser.new_page(viewport={"width": 1000, "height": 760}, accept_downloads=True)  # type: ignore[attr-defined]
    login(page, base, keys["write"])
    page.get_by_role("link", name="Score a list").click()
    page.get_by_label("CSV file").set_input_files(str(listing))
    page.get_by_role("button", name="Score").click()
    assert "30 accounts scored" in page.get_by_role("heading", level=2).inner_text()
    shoot(page, "upload", tmp_path)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the scored CSV").click()
    scored = pl.read_csv(download.value.path())
    assert scored.height == 30 and {"tier", "fit_score", "reasons"} <= set(scored.columns)
    page.get_by_role("link", name="RevOps").click()
    assert page.get_by_role("heading", name="Does it still hold?").is_visible()
    shoot(page, "revops", tmp_path)


def test_a_rep_marks_a_tier_as_wrong_and_revops_sees_it(
    site: tuple[str, Path, dict[str, str]], browser: object, tmp_path: Path
) -> None:
    base, workspace, keys = site
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    account = accounts["account_id"][7]
    page = browser.new_page(viewport={"width": 1000, "height": 1100})  # type: ignore[attr-defined]
    login(page, base, keys["read"])  # a rep's read key is enough to give feedback
    page.goto(f"{base}/accounts/{account}")
    for heading in ("Who to reach", "Talking points", "Why now", "Is this tier right?"):
        assert page.get_by_role("heading", name=heading).is_visible()
    shown = page.locator(".tier.big").inner_text()
    claimed = "Non-fit" if shown != "Non-fit" else "Tier 1"
    page.get_by_label("The right tier for this account").select_option(claimed)
    page.get_by_role("textbox", name="Why").fill("Bought a rival last month, per jo@acme.example")
    page.get_by_role("button", name="Send verdict").click()
    assert "verdict is saved" in page.get_by_role("status").inner_text()
    page.evaluate("document.getElementById('reach').scrollIntoView()")
    shoot(page, "account-reach", tmp_path)
    page.get_by_role("link", name="RevOps").click()
    section = page.locator(
        "section", has=page.get_by_role("heading", name="Feedback from the field")
    )
    text = section.inner_text()
    assert f"{shown} → {claimed}" in text and "Bought a rival last month" in text
    assert "jo@acme" not in page.content()


def test_revops_builds_a_new_version_and_watches_its_progress(
    site: tuple[str, Path, dict[str, str]], browser: object, tmp_path: Path
) -> None:
    """Last in this file: it adds a version to the shared workspace."""
    base, _, keys = site
    page = browser.new_page(viewport={"width": 1000, "height": 900})  # type: ignore[attr-defined]
    login(page, base, keys["write"])
    page.goto(base + "/revops")
    page.get_by_role("button", name="Build from the current data").click()
    status = page.locator("#build-status")
    assert "Build" in status.inner_text()
    assert page.locator("progress").count() == 1  # a build takes seconds: it is still running
    assert page.get_by_role("button", name="Build from the current data").is_disabled()
    shoot(page, "revops-build", tmp_path)
    # build.js polls /v1/builds/{id} and reloads the page when the build has finished
    page.get_by_text("Build finished: version 2").wait_for(timeout=240_000)
    assert (
        page.get_by_role("region", name="Version list")
        .get_by_role("cell", name="v2", exact=True)
        .is_visible()
    )
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "revops", tmp_path)
