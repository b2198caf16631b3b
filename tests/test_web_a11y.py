"""Every page in a real browser at phone width and through axe-core: Debian's headless Chromium
driven by Playwright against a uvicorn server on a free local port. Marked ``services``:
`make services-deps` installs chromium (apt-get) and axe-core (npm, pinned by
tests/js/package-lock.json) when missing.

- axe-core is injected into each page (login, search, account, upload and its mapping step,
  RevOps, the error page, the HTML report, and the worklist and embed card where they exist): no
  violation of impact "serious" or "critical" may remain;
- at 390 px no page scrolls sideways (``document.documentElement.scrollWidth <= 390``);
- a HubSpot export is mapped in the upload page and scored.

``ICPKIT_WEB_SCREENSHOTS=docs`` (make web-images) saves the RevOps, upload/mapping and report
screenshots at 1280 and 390 px as docs/web-*.png.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("playwright.sync_api")


from browser_kit import CHROMIUM, chromium, serving
from icpkit.web.app import create_app
from icpkit.web.keys import KeyStore

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
DOCS = ROOT / "docs"
PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}
BLOCKING = ("serious", "critical")
HUBSPOT = {
    "account_id": "Record ID",
    "name": "Company name",
    "domain": "Company Domain Name",
    "employees": "Number of Employees",
    "industry": "Industry",
    "country": "Country/Region",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make services-deps installs it)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make services-deps runs npm ci in tests/js)")
    from test_web import make_workspace

    workspace = make_workspace(tmp_path_factory.mktemp("a11y"))
    store = KeyStore(workspace)
    keys = {scope: store.create(scope, name="revops")[0] for scope in ("read", "write")}
    with serving(create_app(workspace)) as base:
        yield base, workspace, keys


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def context(browser: Any, base: str, key: str | None, viewport: dict[str, int]) -> Any:
    """A browser context logged in with ``key`` (None: logged out); CSP bypassed so that axe
    can be injected into pages whose policy allows no inline script."""
    ctx = browser.new_context(viewport=viewport, bypass_csp=True, accept_downloads=True)
    if key is not None:
        page = ctx.new_page()
        page.goto(base + "/login")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/")
        page.close()
    return ctx


def shoot(what: Any, name: str, tmp_path: Path) -> Path:
    """A screenshot of a page (its viewport) or of one element (a locator)."""
    folder = DOCS if os.environ.get("ICPKIT_WEB_SCREENSHOTS") == "docs" else tmp_path
    target = folder / f"web-{name}.png"
    what.screenshot(path=str(target))
    return target


def serious_violations(page: Any) -> list[str]:
    """axe-core's violations of impact serious or critical on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(json.dumps(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
        if v.get("impact") in BLOCKING
    ]


def scroll_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def hubspot_file(workspace: Path, folder: Path, n: int = 25) -> Path:
    """The workspace's first accounts under a HubSpot export's own headers."""
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0).head(n)
    frame = accounts.select([pl.col(c).alias(h) for c, h in HUBSPOT.items()]).with_columns(
        pl.lit("Sales EMEA").alias("Company owner"),
        accounts["annual_revenue"].alias("Annual Revenue USD"),  # a similar name: a weaker guess
    )
    target = folder / "hubspot-companies.csv"
    frame.write_csv(target)
    return target


def pages(workspace: Path) -> list[tuple[str, str, str | None]]:
    """(name, path, key scope or None for logged out) of every page to check."""
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    account = quote(str(accounts["account_id"][3]), safe="")
    word = str(accounts["name"][3]).split()[0]
    return [
        ("login", "/login", None),
        ("search", "/", "read"),
        ("search results", f"/?q={quote(word)}", "read"),
        ("account", f"/accounts/{account}", "read"),
        ("upload", "/upload", "write"),
        ("revops", "/revops", "write"),
        ("error page", "/accounts/no-such-account-id", "read"),
        ("report", "/revops/report", "read"),
        ("worklist", "/worklist", "read"),
        ("embed card", f"/embed/accounts/{account}", "read"),
    ]


def test_every_page_passes_axe_and_fits_a_phone(
    site: tuple[str, Path, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    base, workspace, keys = site
    problems: list[str] = []
    skipped: list[str] = []
    contexts: dict[tuple[str | None, int], Any] = {}
    for name, path, scope in pages(workspace):
        for viewport in (LAPTOP, PHONE):
            ck = (scope, viewport["width"])
            if ck not in contexts:
                contexts[ck] = context(browser, base, keys[scope] if scope else None, viewport)
            page = contexts[ck].new_page()
            response = page.goto(base + path)
            assert response is not None
            if response.status == 404 and name in ("worklist", "embed card"):
                skipped.append(f"{name}: {path} answers 404 (not built in this branch)")
                page.close()
                break
            if viewport is PHONE:
                width = scroll_width(page)
                if width > PHONE["width"]:
                    problems.append(f"{name} at 390 px: scrollWidth {width}")
            else:
                problems += [f"{name}: {v}" for v in serious_violations(page)]
            page.close()
    for ctx in contexts.values():
        ctx.close()
    assert not problems, "\n".join(problems)
    if skipped:
        print("skipped:", *skipped, sep="\n  ")


def test_a_hubspot_export_is_mapped_in_the_page_and_scored(
    site: tuple[str, Path, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    base, workspace, keys = site
    listing = hubspot_file(workspace, tmp_path)
    for viewport, suffix in ((LAPTOP, ""), (PHONE, "-phone")):
        ctx = context(browser, base, keys["write"], viewport)
        page = ctx.new_page()
        page.goto(base + "/upload")
        page.get_by_label("CSV file").set_input_files(str(listing))
        page.get_by_role("button", name="Score", exact=True).click()
        assert page.get_by_role("heading", name="Match the columns of hubspot-companies.csv")
        country = page.get_by_label("icpkit field for Country/Region", exact=True)
        for canonical, header in HUBSPOT.items():
            select = page.get_by_label(f"icpkit field for {header}", exact=True)
            if viewport is PHONE and canonical == "country":  # left out at the first upload
                assert select.input_value() == "", "the mapping of the last upload is not kept"
                assert "left unmapped at the last upload" in page.content()
            else:
                assert select.input_value() == canonical, (header, select.input_value())
        assert page.get_by_label("icpkit field for Company owner", exact=True).input_value() == ""
        assert scroll_width(page) <= viewport["width"]
        assert not serious_violations(page)
        shoot(page, f"upload-mapping{suffix}", tmp_path)
        # the user corrects a guess in the page: the country is left out of this list
        country.select_option("")
        page.get_by_role("button", name="Score with this mapping").click()
        heading = page.get_by_role("heading", level=2).first.inner_text()
        assert "25 accounts scored" in heading, heading
        assert "Company name → name" in page.content()
        assert "Country/Region → country" not in page.content()
        assert scroll_width(page) <= viewport["width"]
        assert not serious_violations(page)
        shoot(page, f"upload-scored{suffix}", tmp_path)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the scored CSV").click()
        scored = pl.read_csv(download.value.path(), infer_schema_length=0)
        assert scored.height == 25 and {"Record ID", "tier", "fit_score"} <= set(scored.columns)
        ctx.close()


def test_screenshots_of_revops_and_the_report(
    site: tuple[str, Path, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    base, workspace, keys = site
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    claims = [("Tier 1", "agreed, strong fit"), ("Non-fit", "no budget this year"),
              ("Tier 2", "subsidiary of a customer")]  # fmt: skip
    api = browser.new_context(extra_http_headers={"X-API-Key": keys["read"]}).request
    for i, (claimed, reason) in enumerate(claims):
        account = str(accounts["account_id"][20 + i])
        if i == 0:  # one rep agrees with the tier shown
            claimed = api.get(f"{base}/v1/accounts/{quote(account, safe='')}").json()["tier"]
        verdict = {"account_id": account, "claimed_tier": claimed, "reason": reason}
        posted = api.post(base + "/v1/feedback", data=verdict)
        assert posted.status in (200, 201), posted.text()
    for viewport, suffix in ((LAPTOP, ""), (PHONE, "-phone")):
        ctx = context(browser, base, keys["read"], viewport)
        page = ctx.new_page()
        page.goto(base + "/revops")
        assert page.get_by_role("heading", name="At a glance").is_visible()
        assert page.locator("figure.chart svg").count() == 4
        assert "agreed, strong fit" in page.content()
        for heading, name in (("At a glance", "charts"), ("Data quality", "quality")):
            section = page.locator("section", has=page.get_by_role("heading", name=heading))
            shoot(section, f"revops-{name}{suffix}", tmp_path)
        page.goto(base + "/revops/report")
        shoot(page, f"report{suffix}", tmp_path)
        ctx.close()
