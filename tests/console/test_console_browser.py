"""End to end in headless Chromium (Debian's, driven by Playwright) against gunicorn.

Screenshots of every screen go to test-artifacts/console/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import MANAGER
from servertesting import server_environ, serving
from sqlalchemy.orm import Session

from recsvc.config import PROJECT_ROOT
from recsvc.security import revoke_key
from recsvc.store import make_engine

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("browser_ready")]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DUAL_CUSTOMER = "C00000001"


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path="/usr/bin/chromium",
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            locale="zh-CN",
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.fixture
def server(planned: Any, tmp_path: Path) -> Iterator[Any]:
    with serving(server_environ(planned.settings), tmp_path, workers=2) as running:
        yield running


def sign_in(page: Any, base: str, key: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/console/signin")
    page.fill("#api_key", key)
    page.click("button.primary")
    expect(page.locator("header .who")).to_contain_text("退出")
    assert key not in page.content()
    assert key.split("_", 2)[2] not in page.url


def test_teller_gets_a_pitch_and_records_the_answer(
    planned: Any, server: Any, browser_page: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{server.base}/console/signin")
    page.screenshot(path=screenshots / "01-signin.png")
    sign_in(page, server.base, planned.key("teller", staff_id="T300"))
    page.fill("#customer_id", DUAL_CUSTOMER)
    # no transaction: the model's own first choice for this customer needs dual recording
    page.select_option("#txn_type", "")
    page.click("#pitch-form button[type=submit]")
    expect(page.locator("#pitch .say")).to_be_visible()
    expect(page.locator("#pitch .dual")).to_contain_text("双录")
    expect(page.locator("#pitch .risk")).to_be_visible()
    page.screenshot(path=screenshots / "02-teller-pitch.png", full_page=True)
    page.click("button[data-outcome=accepted]")
    expect(page.locator(".flash")).to_contain_text("已记录客户反馈：接受")
    page.screenshot(path=screenshots / "03-teller-recorded.png")


def test_manager_sorts_the_plan_and_opens_a_customer(
    planned: Any, server: Any, browser_page: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, server.base, planned.key("manager", staff_id="M300", manager_id=MANAGER))
    expect(page.locator("#plan tbody tr").first).to_be_visible()
    page.click("#plan thead th:nth-child(5)")  # priority, ascending
    expect(page.locator("#plan thead th:nth-child(5)")).to_have_attribute("aria-sort", "ascending")
    values = [
        float(v)
        for v in page.locator("#plan tbody td:nth-child(5)").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )
    ]
    assert values == sorted(values) and len(values) > 1
    page.click("#plan thead th:nth-child(5)")  # priority, descending: the plan's own order
    expect(page.locator("#plan thead th:nth-child(5)")).to_have_attribute("aria-sort", "descending")
    page.screenshot(path=screenshots / "04-manager-plan.png")
    page.locator("#plan tbody tr a").first.click()
    expect(page.locator("#profile")).to_be_visible()
    expect(page.locator("#excluded")).to_be_visible()
    page.screenshot(path=screenshots / "05-manager-customer.png", full_page=True)
    page.goto(f"{server.base}/console/customers/C00000099?lang=en")
    expect(page.locator("#timeline svg")).to_be_visible()
    expect(page.locator("h2").first).to_contain_text("Holdings")
    page.screenshot(path=screenshots / "06-manager-customer-en.png", full_page=True)


def test_data_scientist_promotes_a_challenger_after_confirming(
    planned: Any, server: Any, browser_page: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    challenger = planned.registry.publish(planned.model_dir, note="retrained challenger")
    page = browser_page
    sign_in(page, server.base, planned.key("data_scientist", staff_id="D300"))
    expect(page.locator("#challenger")).to_have_text(challenger)
    page.screenshot(path=screenshots / "07-models.png", full_page=True)
    page.locator(f"#v-{challenger} a.promote").click()
    expect(page.locator(".question")).to_contain_text(challenger)
    page.screenshot(path=screenshots / "08-models-confirm.png")
    page.click("#confirm")
    expect(page.locator("#champion")).to_have_text(challenger)
    page.screenshot(path=screenshots / "09-models-promoted.png", full_page=True)
    assert planned.registry.alias_state().champion == challenger


def test_screenshots_land_in_the_artifacts_folder(screenshots: Path) -> None:
    assert screenshots == PROJECT_ROOT / "test-artifacts" / "console"


def focused(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return {id: e.id || '', outcome: (e.dataset && e.dataset.outcome) || '',"
            " cls: e.className || '', tag: e.tagName}; }"
        )
    )


def tab_to(page: Any, wanted: Callable[[dict[str, str]], bool], limit: int = 40) -> None:
    """Press Tab until the focused element is the wanted one (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted(focused(page)):
            return
    raise AssertionError(f"Tab never reached it; last focus {focused(page)}")


def test_a_teller_works_the_counter_with_the_keyboard_only(
    planned: Any, server: Any, browser_page: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{server.base}/")  # the service's address lands on the console
    expect(page).to_have_url(f"{server.base}/console/signin")
    expect(page.locator("#api_key")).to_be_focused()
    page.keyboard.type(planned.key("teller", staff_id="T310"))
    page.keyboard.press("Enter")
    expect(page.locator("header .who")).to_contain_text("退出")
    expect(page.locator("#customer_id")).to_be_focused()  # ready for the next customer at once
    page.keyboard.type(" c0000 0002 ")  # as read out: lower case, spaces
    page.keyboard.press("Enter")
    expect(page.locator("#pitch .say")).to_be_visible()
    assert "/console/teller/pitch/" in page.url
    expect(page.locator("#customer_id")).to_have_value("C00000002")
    tab_to(page, lambda f: f["outcome"] == "declined")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("已记录客户反馈：拒绝")
    expect(page.locator("#recorded")).to_have_attribute("data-outcome", "declined")
    page.screenshot(path=screenshots / "10-teller-keyboard-recorded.png", full_page=True)
    # a mis-click: corrected from the keyboard, within the window
    tab_to(page, lambda f: f["outcome"] == "accepted")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("已更正客户反馈（原为拒绝）：接受")
    expect(page.locator("#recorded")).to_have_attribute("data-outcome", "accepted")
    # the next customer: the field still has focus, and typing replaces the last id
    page.goto(page.url)
    expect(page.locator("#customer_id")).to_be_focused()
    page.keyboard.type("C00000003")
    expect(page.locator("#customer_id")).to_have_value("C00000003")
    page.go_back()
    # Back shows pages got by GET: no "Confirm Form Resubmission", no error page
    response = page.go_back()
    assert response is not None and response.ok and response.request.method == "GET"
    expect(page.locator("#pitch")).to_be_visible()
    # the language switch works on the result page, from the keyboard too
    tab_to(page, lambda f: "lang" in f["cls"].split())
    page.keyboard.press("Enter")
    expect(page.locator("#pitch .label")).to_contain_text("Say to the customer")
    assert "/console/teller/pitch/" in page.url
    page.screenshot(path=screenshots / "11-teller-result-en.png", full_page=True)


def test_a_teller_whose_key_is_revoked_is_told_and_keeps_the_input(
    planned: Any, server: Any, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    key = planned.key("teller", staff_id="T320")
    sign_in(page, server.base, key)
    page.fill("#customer_id", "c0000 0003")
    engine = make_engine(planned.settings.database_url)
    with Session(engine) as session:
        assert revoke_key(session, key.split("_")[1])
        session.commit()
    engine.dispose()
    page.click("#pitch-form button[type=submit]")
    expect(page.locator("#session-ended")).to_contain_text("会话已结束")
    sign_in(page, server.base, planned.key("teller", staff_id="T320"))
    expect(page.locator("#customer_id")).to_have_value("c0000 0003")


def test_a_manager_works_the_week_from_the_desk(
    planned: Any, server: Any, browser_page: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, server.base, planned.key("manager", staff_id="M320", manager_id=MANAGER))
    first = page.locator("#plan tbody tr").first
    expect(first.locator(".masked.name")).to_contain_text("*")
    page.select_option("#filter-trigger", "MATURING")
    page.click("#filters button[type=submit]")
    expect(page.locator("#filter-trigger")).to_have_value("MATURING")
    triggers = page.locator("#plan tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.triggers)"
    )
    assert triggers and all("MATURING" in t.split() for t in triggers)
    row = page.locator("#plan tbody tr").first
    customer_id = row.get_attribute("id").removeprefix("entry-")
    row.locator("select[name=outcome]").select_option("accepted")
    row.locator("button.record-contact").click()
    expect(page.locator(".flash")).to_contain_text(f"已记录联系 {customer_id}：接受")
    done = page.locator(f"#entry-{customer_id} .done")
    expect(done).to_have_attribute("data-outcome", "accepted")
    expect(page.locator("#filter-trigger")).to_have_value("MATURING")  # filters kept
    page.screenshot(path=screenshots / "12-manager-plan-desk.png", full_page=True)
    week = page.locator("#week").inner_text()
    page.click("#next-week")
    expect(page.locator("#week")).not_to_have_text(week)
    page.click("#prev-week")
    expect(page.locator("#week")).to_have_text(week)
    page.goto(f"{server.base}/console/customers/C00000311")
    expect(page.locator("#timeline g.holding.matured")).to_have_count(1)
    expect(page.locator("#timeline g.holding.matured .date")).to_contain_text("已到期")
    expect(page.locator("#phone")).to_contain_text("****")
    page.click("#reveal-phone button")
    expect(page.locator("#phone .full-phone")).to_have_text(re.compile(r"^\d{11}$"))
    page.screenshot(path=screenshots / "13-manager-customer-phone.png", full_page=True)


def test_a_data_scientist_sees_each_worker_the_card_and_the_comparison(
    planned: Any, server: Any, browser_page: Any, screenshots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    champion = planned.registry.alias_state().champion
    carded = tmp_path / "carded"
    shutil.copytree(planned.model_dir, carded)
    (carded / "model_card.html").write_text("<h1>Model card</h1>", encoding="utf-8")
    challenger = planned.registry.publish(carded, note="with its card")
    page = browser_page
    sign_in(page, server.base, planned.key("data_scientist", staff_id="D310"))
    expect(page.locator("#rollback")).to_have_count(0)  # one champion so far
    workers = page.locator("#workers tbody tr")
    expect(workers).to_have_count(2)  # gunicorn runs 2 workers: each reports itself
    versions = workers.evaluate_all("rows => rows.map(r => r.dataset.version)")
    assert versions == [champion, champion]
    expect(page.locator(f"#v-{challenger} a[href$='/card']")).to_be_visible()
    page.locator(f"#v-{challenger} a.promote").click()
    expect(page.locator("#serving-version")).to_have_text(challenger)
    expect(page.locator("#champion-version")).to_have_text(champion)
    expect(page.locator("#holdout-rows td.num").first).not_to_have_text("-")
    page.screenshot(path=screenshots / "14-models-confirm-against.png", full_page=True)
    page.click("#confirm")
    expect(page.locator("#champion")).to_have_text(challenger)
    expect(page.locator("#rollback")).to_contain_text(champion)
    page.screenshot(path=screenshots / "15-models-workers.png", full_page=True)
