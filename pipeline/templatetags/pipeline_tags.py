"""The deal panel in the conversation pane. The inbox sits below the pipeline and cannot import it, so
its template includes pipeline/_conversation_deal.html, which asks this tag for its data."""

from __future__ import annotations

from typing import Any

from django import template

from pipeline.views import panel_context

register = template.Library()


@register.inclusion_tag("pipeline/_deal_panel.html", takes_context=True)
def deal_panel(context: template.Context, conversation: Any) -> dict[str, Any]:
    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        **panel_context(conversation=conversation, user=request.user),
    }
