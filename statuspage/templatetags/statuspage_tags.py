"""The room's status-page card: what customers see of this incident, and the way to change it.

An inclusion tag, so that the incident room (below statuspage in the layers)
only `{% load statuspage_tags %}`. Two queries: the public incident and its
latest update. The room draws it again when a public update is published or
the roles change (who may publish), incidents/views.py room_delta.
"""

from django import template

from statuspage import permissions
from statuspage.models import PublicIncident, PublicUpdate

register = template.Library()


@register.inclusion_tag("statuspage/_status_card.html", takes_context=True)
def status_card(context, oob: bool = False) -> dict:
    request = context["request"]
    incident = context["incident"]
    public_incident = PublicIncident.objects.filter(incident=incident).first()
    latest = (
        PublicUpdate.objects.filter(public_incident=public_incident).order_by("-display_at", "-id").first()
        if public_incident is not None
        else None
    )
    return {
        "incident": incident,
        "public_incident": public_incident,
        "latest": latest,
        "may_publish": permissions.may_publish_update(request.user, context.get("role_holders") or []),
        "oob": oob,
    }
