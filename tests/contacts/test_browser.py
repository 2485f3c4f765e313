"""The contact panel in Chromium, beside a conversation with a person who wrote to two of our accounts."""

from __future__ import annotations

import pytest

from contacts import services
from contacts.models import FieldValue
from tests.support.browser import artifacts_dir, logged_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_panel_lists_both_conversations_and_edits_a_field_in_place(
    world, chromium, live_server, operator
):
    budget = services.custom_field_create(name="Budget", kind="number")
    tier = services.custom_field_create(name="Tier", kind="choice", choices="Gold,Silver")
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1")
    try:
        page.goto(f"/inbox/c/{world.at_sales.pk}/")
        panel = page.locator("#contact-panel[data-contact]")
        panel.wait_for()
        links = panel.locator(".contact-conversations a")
        assert sorted(links.all_inner_texts()) == ["Sales Desk", "Support Desk"]
        assert "Hidden Desk" not in panel.inner_text()
        assert "@ghopper" in panel.inner_text()

        field = panel.locator(f"#field-{budget.pk}")
        field.locator("input[name=value]").fill("12,50")
        field.locator("button").click()
        page.wait_for_selector(f"#field-{budget.pk} input[value='12.5']")
        assert FieldValue.objects.get(field=budget).value == "12.5"

        field.locator("input[name=value]").fill("2026-02-30")
        field.locator("button").click()
        page.wait_for_selector(f"#field-{budget.pk} [role=alert]")
        assert "at most 15 digits" in page.locator(f"#field-{budget.pk} [role=alert]").inner_text()
        assert FieldValue.objects.get(field=budget).value == "12.5"

        page.locator(f"#field-{tier.pk} select").select_option("Silver")
        # The select posts on change; wait for the stored value (the swap keeps the same markup).
        for _ in range(50):
            if FieldValue.objects.filter(field=tier, value="Silver").exists():
                break
            page.wait_for_timeout(100)
        assert FieldValue.objects.get(field=tier).value == "Silver"

        panel.screenshot(path=str(artifacts_dir("contacts") / "contact-panel.png"))
        links.filter(has_text="Support Desk").click()
        page.wait_for_url(f"**/inbox/c/{world.at_support.pk}/")
        page.wait_for_selector("text=My order is late")
    finally:
        context.close()


def test_on_a_phone_the_panel_follows_the_notes_and_fits_the_screen(world, chromium, live_server, operator):
    budget = services.custom_field_create(name="Budget", kind="number")
    phone = (390, 844)
    context, page = logged_in_page(chromium, live_server, operator.username, "pw-operator-1", viewport=phone)
    try:
        page.goto(f"/inbox/c/{world.at_sales.pk}/")
        page.locator(".side-open").click()
        page.locator("#contact-panel[data-contact]").wait_for()
        note_box = page.locator("#side textarea[name=text]").bounding_box()
        assert note_box is not None and note_box["y"] + note_box["height"] <= phone[1], note_box
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page is {overflow} px wider than the screen"
        field = page.locator(f"#field-{budget.pk} input[name=value]")
        field.scroll_into_view_if_needed()
        box = field.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= phone[0], box
        page.screenshot(path=str(artifacts_dir("contacts") / "contact-panel-phone.png"))
    finally:
        context.close()
