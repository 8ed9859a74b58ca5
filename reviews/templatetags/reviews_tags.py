"""The dashboard's "my open follow-ups" and the room's review card.

Inclusion tags, so that incidents (below reviews) stays unaware of this app:
its templates only `{% load reviews_tags %}`.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from reviews import metrics, selectors
from reviews.models import Review

register = template.Library()


@register.inclusion_tag("reviews/_my_follow_ups.html", takes_context=True)
def my_follow_ups(context) -> dict:
    user = context["request"].user
    rows, total = selectors.my_open_follow_ups(user)
    return {"follow_ups": rows, "total": total, "today": timezone.localdate()}


@register.inclusion_tag("reviews/_review_card_slot.html", takes_context=True)
def review_card(context) -> dict:
    """A slot the room fills once loaded (reviews.views.room_card), so the room costs no query more."""
    return {"incident": context["incident"]}


@register.filter
def when(value: str | None) -> str:
    """An ISO time from a review's record, in the portal's time zone: "Dec 2, 09:21"."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    return timezone.localtime(moment).strftime("%b %-d, %H:%M")


@register.filter
def duration(seconds) -> str:
    return metrics.human(seconds)


@register.filter
def section_html(review: Review, name: str) -> SafeString:
    """A written section as the Markdown it was saved with, sanitized (Review.section_html)."""
    return mark_safe(review.section_html(name))  # noqa: S308 - rendered by core.markdown, sanitized by nh3
