"""The month report form in a browser: the error summary takes the focus and links every invalid
field, leaving with unsaved changes asks first, the sticky save bar never covers the focused
field, and the page prints with its header and without the navigation."""

import pytest
from django.utils import timezone

from branches.services.criteria import criteria_defaults_load
from tests.e2e.test_monthly_flow import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails in CI or skips elsewhere, saying why
    expect = None

pytestmark = pytest.mark.e2e

VILLAGE = "410102001002"  # 西流湖村 (rural)


@pytest.fixture
def report_path():
    month = timezone.localdate().replace(day=1)
    criteria_defaults_load(year=month.year)
    return f"/units/{VILLAGE}/reports/{month:%Y-%m}/"


def number_inputs(page):
    return page.locator("#report-form input[name^='value-'][type='text']")


def test_a_failed_save_focuses_the_error_summary_whose_links_lead_to_each_invalid_field(
    live_server, personas, report_path, new_page
):
    page = new_page()
    log_in(page, report_path, personas.staff_a)
    fields = number_inputs(page)
    fields.nth(0).fill("很多")
    fields.nth(1).fill("-")

    page.get_by_role("button", name="保存草稿").click()

    summary = page.locator("#form-errors")
    expect(summary).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "form-errors"
    links = summary.locator("a")
    expect(links).to_have_count(2)
    invalid = page.locator("#report-form input.is-invalid")
    expect(invalid).to_have_count(2)
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        f"#{invalid.nth(i).get_attribute('id')}" for i in range(2)
    ]
    # Each link names the criterion and says what is wrong.
    title = fields.nth(0).get_attribute("aria-label")
    expect(links.nth(0)).to_have_text(title)
    expect(summary.locator("li").nth(0)).to_contain_text("应填数字")

    links.nth(1).click()
    assert page.evaluate("document.activeElement.id") == invalid.nth(1).get_attribute("id")


def test_leaving_with_unsaved_changes_asks_first_and_after_a_save_it_does_not(
    live_server, personas, report_path, new_page
):
    page = new_page()
    log_in(page, report_path, personas.staff_a)
    dialogs = []

    def answer(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    home = page.get_by_role("link", name="支部主页")

    # Nothing changed: leaving asks nothing.
    home.click()
    page.wait_for_url(f"**/units/{VILLAGE}/")
    assert dialogs == []
    page.go_back()

    number_inputs(page).first.fill("3")
    home.click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith(report_path)

    # Saving is not leaving, and the saved page has nothing unsaved.
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("alert").filter(has_text="草稿已保存")).to_be_visible()
    assert dialogs == ["beforeunload"]
    page.get_by_role("link", name="支部主页").click()
    page.wait_for_url(f"**/units/{VILLAGE}/")
    assert dialogs == ["beforeunload"]


def test_the_sticky_save_bar_never_covers_the_focused_field(
    live_server, personas, report_path, new_page
):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 600})
    log_in(page, report_path, personas.staff_a)
    bar = page.locator("#save-bar")
    fields = number_inputs(page)
    for index in range(fields.count()):
        field = fields.nth(index)
        # Put the field at the very bottom of the window, where the bar sticks, then focus it.
        field.evaluate(
            "f => { window.scrollBy(0, f.getBoundingClientRect().bottom - innerHeight + 2); }"
        )
        field.focus()
        bottom = field.evaluate("f => f.getBoundingClientRect().bottom")
        top = bar.evaluate("b => b.getBoundingClientRect().top")
        assert bottom <= top, (index, bottom, top)


def test_the_month_report_prints_with_its_header_and_without_navigation_or_buttons(
    live_server, personas, report_path, new_page
):
    personas.staff_a.last_name, personas.staff_a.first_name = "王", "丽"
    personas.staff_a.save()
    page = new_page()
    log_in(page, report_path, personas.staff_a)
    header = page.locator(".print-header")
    expect(header).to_be_hidden()

    page.emulate_media(media="print")
    expect(header).to_be_visible()
    expect(header).to_contain_text("西流湖村")
    expect(header).to_contain_text(f"{timezone.localdate():%Y}年{timezone.localdate().month}月")
    expect(header).to_contain_text("打印人：王丽")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.get_by_role("button", name="保存草稿")).to_be_hidden()
