"""The room's customer panels, as slots that load themselves after the room.

An inclusion tag, so that incidents (below customers) stays unaware of this app: its
room template only `{% load customers_tags %}`. The slots cost the room no query; the
delta (incidents.views.room_delta) sends `oob=True` when an entry about customers
arrives: a hidden element that loads the list again in place. The direct-update form is
left alone by the delta, so a half-written update is never wiped.
"""

from django import template

register = template.Library()


@register.inclusion_tag("customers/_slots.html", takes_context=True)
def customers_slot(context, oob: bool = False) -> dict:
    return {"incident": context["incident"], "oob": oob}
