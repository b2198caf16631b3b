"""The rep views in a real browser (Debian's headless Chromium, Playwright; never a downloaded
browser): find an account by a misspelt name and by a pasted URL and see everything a rep needs
on the first laptop screen; page through the worklist with a filter; the account card inside a
CRM's frame. Marked ``services``.

``ICPKIT_WEB_SCREENSHOTS=docs`` (``make web-images``) also saves docs/web-worklist*.png,
docs/web-account-rep*.png and docs/web-embed*.png at 1280 and 390 px.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import polars as pl
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("playwright.sync_api")


from browser_kit import CHROMIUM, chromium, free_port, serving, shoot
from icpkit.web.app import create_app
from icpkit.web.embed import EmbedLinks
from icpkit.web.keys import KeyStore
from rep_fixture import OWNERS, SECRET, rep_workspace

pytestmark = pytest.mark.services
DOCS = Path(__file__).resolve().parents[1] / "docs"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ENV = "ICPKIT_TEST_EMBED_SECRET"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test-services installs it)")
    workspace = rep_workspace(tmp_path_factory.mktemp("rep-browser"))
    key = KeyStore(workspace).create("read")[0]
    os.environ[ENV] = SECRET  # read by the server per request; removed below
    with serving(create_app(workspace)) as base:
        yield base, workspace, key
    os.environ.pop(ENV, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


def logged_in(browser: object, base: str, key: str, viewport: dict[str, int]) -> object:
    page = browser.new_page(viewport=viewport)  # type: ignore[attr-defined]
    page.goto(base + "/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Log in").click()
    return page


def no_sideways_scroll(page: object, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= page.viewport_size["width"], f"{what} scrolls sideways ({width}px)"  # type: ignore[attr-defined]


def on_first_screen(page: object, selector: str) -> None:
    """Every element of ``selector`` is visible inside the viewport, without scrolling."""
    size = page.viewport_size  # type: ignore[attr-defined]
    assert page.evaluate("window.scrollY") == 0  # type: ignore[attr-defined]
    items = page.locator(selector)  # type: ignore[attr-defined]
    assert items.count() > 0, f"nothing matches {selector}"
    for i in range(items.count()):
        box = items.nth(i).bounding_box()
        assert box is not None and items.nth(i).is_visible(), selector
        assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= size["width"], (selector, box)
        assert box["y"] + box["height"] <= size["height"], (selector, box)


def _target(page: object, base: str, workspace: Path) -> dict[str, str]:
    """A hot Tier 1 account with contacts and a name no other account has."""
    rows = page.request.get(f"{base}/v1/worklist?priority=work now&limit=100").json()["rows"]  # type: ignore[attr-defined]
    accounts = pl.read_csv(workspace / "accounts.csv", infer_schema_length=0)
    contacts = pl.read_csv(workspace / "contacts.csv", infer_schema_length=0)
    counts = accounts["name"].value_counts()
    unique = set(counts.filter(pl.col("count") == 1)["name"].to_list())
    with_contacts = set(contacts["account_id"].to_list())
    for row in rows:
        first = str(row["name"]).split()[0]
        if row["name"] in unique and row["account_id"] in with_contacts and len(first) >= 7:
            return row
    pytest.fail("the synthetic CRM has no hot account with a unique long name")


def _misspelt(name: str) -> str:
    first, _, rest = name.partition(" ")
    swapped = first[:3] + first[4] + first[3] + first[5:]  # two letters swapped: 'Bluepaek'
    return f"{swapped} {rest}".strip()


REP_VIEW = (".tier.big", ".rep-why li", "#reach", ".rep-reach", ".rep-now", "#claimed_tier",
            "#reason", "button:has-text('Send verdict')")  # fmt: skip


def test_a_rep_finds_an_account_by_a_misspelt_name_and_sees_it_all_on_one_screen(
    site: tuple[str, Path, str], browser: object, tmp_path: Path
) -> None:
    base, workspace, key = site
    page = logged_in(browser, base, key, LAPTOP)
    target = _target(page, base, workspace)
    page.get_by_role("link", name="Accounts").click()  # type: ignore[attr-defined]
    page.get_by_label("Name or domain").fill(_misspelt(target["name"]))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Search").click()  # type: ignore[attr-defined]
    page.locator(f'a[href="/accounts/{target["account_id"]}"]').click()  # type: ignore[attr-defined]
    assert page.get_by_role("heading", level=1).inner_text() == target["name"]  # type: ignore[attr-defined]
    assert page.locator(".tier.big").inner_text() == "Tier 1"  # type: ignore[attr-defined]
    for selector in REP_VIEW:
        on_first_screen(page, selector)
    reasons = page.locator(".rep-why li").all_inner_texts()  # type: ignore[attr-defined]
    assert 1 <= len(reasons) <= 3 and not any("no known" in r for r in reasons)
    assert "contacts in the CRM" in page.locator(".rep-reach").inner_text()  # type: ignore[attr-defined]
    assert target["first_why_now"].split(":")[0] in page.locator(".rep-now").inner_text()  # type: ignore[attr-defined]
    assert not page.locator("#criteria").is_visible()  # type: ignore[attr-defined]  # analysts: one click away
    page.get_by_text("Analyst details").click()  # type: ignore[attr-defined]
    assert page.locator("#criteria").is_visible()  # type: ignore[attr-defined]
    page.get_by_text("Analyst details").click()  # type: ignore[attr-defined]
    shoot(page, "account-rep", tmp_path)
    phone = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
    phone.context.add_cookies(page.context.cookies())  # type: ignore[attr-defined]
    phone.goto(page.url)  # type: ignore[attr-defined]
    no_sideways_scroll(phone, "the account page")
    shoot(phone, "account-rep-phone", tmp_path)


def test_a_rep_pastes_a_url_and_lands_on_the_account(
    site: tuple[str, Path, str], browser: object
) -> None:
    base, workspace, key = site
    page = logged_in(browser, base, key, LAPTOP)
    target = _target(page, base, workspace)
    page.goto(base + "/")  # type: ignore[attr-defined]
    pasted = f"https://www.{target['domain']}/pricing?utm_source=mail"
    page.get_by_label("Name or domain").fill(pasted)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Search").click()  # type: ignore[attr-defined]
    links = page.locator("table a")  # type: ignore[attr-defined]
    assert links.count() == 1 and links.first.inner_text() == target["name"]
    links.first.click()
    for selector in REP_VIEW:
        on_first_screen(page, selector)


def test_the_worklist_pages_through_200_plus_accounts_with_a_filter(
    site: tuple[str, Path, str], browser: object, tmp_path: Path
) -> None:
    base, _, key = site
    page = logged_in(browser, base, key, LAPTOP)
    page.get_by_role("link", name="Worklist").click()  # type: ignore[attr-defined]
    assert page.get_by_role("heading", level=1).inner_text() == "This week's worklist"  # type: ignore[attr-defined]
    shoot(page, "worklist", tmp_path)
    page.get_by_label("Owner").select_option(OWNERS[0])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Show").click()  # type: ignore[attr-defined]
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        summary = page.locator(".wl-summary").inner_text()  # type: ignore[attr-defined]
        assert "of 300 accounts matching the filters" in summary, summary
        owners = page.locator('.wl td[data-label="Owner"]').all_inner_texts()  # type: ignore[attr-defined]
        assert set(owners) == {OWNERS[0]}
        seen += [
            a.get_attribute("href")
            for a in page.locator(".wl tbody a").all()  # type: ignore[attr-defined]
        ]
        following = page.get_by_role("link", name="Next 50 →")  # type: ignore[attr-defined]
        if following.count() == 0:
            break
        following.click()
    assert pages == 6 and len(seen) == 300 == len(set(seen))
    assert "251–300 of 300" in summary
    page.get_by_role("link", name="← Previous 50").click()  # type: ignore[attr-defined]
    assert "201–250 of 300" in page.locator(".wl-summary").inner_text()  # type: ignore[attr-defined]
    phone = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
    phone.context.add_cookies(page.context.cookies())  # type: ignore[attr-defined]
    phone.goto(base + "/worklist")  # type: ignore[attr-defined]
    no_sideways_scroll(phone, "the worklist")
    shoot(phone, "worklist-phone", tmp_path)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # the test's output stays clean
        pass


@pytest.fixture(scope="module")
def crm_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A stand-in for the CRM: static pages that frame the card, served on another port."""
    folder = tmp_path_factory.mktemp("crm")
    port = free_port()
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(_Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, port
    httpd.shutdown()


def _frame_page(folder: Path, name: str, src: str, width: str = "420") -> str:
    (folder / name).write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>CRM record</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body style='margin:8px;font-family:sans-serif'><h1 style='font-size:18px'>CRM record"
        f"</h1><iframe id='card' title='icpkit account card' src='{src}' width='{width}' "
        "height='430' style='border:1px solid #ccc;max-width:100%'></iframe></body></html>",
        encoding="utf-8",
    )
    return name


def test_the_embed_card_renders_in_a_crm_frame_and_refuses_bad_links(
    site: tuple[str, Path, str],
    browser: object,
    crm_pages: tuple[Path, int],
    tmp_path: Path,
) -> None:
    folder, port = crm_pages
    base, _, key = site
    rows = httpx.get(f"{base}/v1/worklist?tier=Tier 1&limit=1", headers={"X-API-Key": key})
    name, domain = rows.json()["rows"][0]["name"], rows.json()["rows"][0]["domain"]
    links = EmbedLinks(SECRET.encode(), 720 * 3600)
    good = base + links.mint("domain", domain, 600)[0]
    expired = base + links.mint("domain", domain, 60, now=time.time() - 7200)[0]
    forged = base + EmbedLinks(b"x" * 40, 3600).mint("domain", domain, 600)[0]
    page = browser.new_page(viewport=LAPTOP)  # type: ignore[attr-defined]
    allowed = f"http://localhost:{port}/"  # an origin of [web] frame_ancestors
    page.goto(allowed + _frame_page(folder, "good.html", good))  # type: ignore[attr-defined]
    card = page.frame_locator("#card")  # type: ignore[attr-defined]
    assert card.get_by_role("heading", level=1).inner_text() == name
    assert card.locator(".tier").first.is_visible()
    assert card.get_by_role("heading", name="Who to reach").is_visible()
    shoot(page, "embed", tmp_path)
    for bad, word in ((expired, "expired"), (forged, "signature")):
        page.goto(allowed + _frame_page(folder, f"{word}.html", bad))  # type: ignore[attr-defined]
        text = page.frame_locator("#card").get_by_role("alert").inner_text()  # type: ignore[attr-defined]
        assert word in text
        assert name not in page.frame_locator("#card").locator("body").inner_text()  # type: ignore[attr-defined]
    # another origin (127.0.0.1 is not in frame_ancestors): the browser does not show the card
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text))  # type: ignore[attr-defined]
    page.goto(f"http://127.0.0.1:{port}/" + _frame_page(folder, "other.html", good))  # type: ignore[attr-defined]
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    inner = next(f for f in page.frames if f != page.main_frame)  # type: ignore[attr-defined]
    assert name not in inner.content()
    assert any("frame-ancestors" in m for m in blocked), blocked
    phone = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
    phone.goto(allowed + _frame_page(folder, "phone.html", good, width="100%"))
    assert phone.frame_locator("#card").get_by_role("heading", level=1).inner_text() == name
    no_sideways_scroll(phone, "the CRM page with the card")
    shoot(phone, "embed-phone", tmp_path)
