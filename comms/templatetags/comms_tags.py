from django import template

from comms import permissions

register = template.Library()


@register.filter
def may_read_whole_outbox(user) -> bool:
    """The outbox link in the top bar: the rule of comms.permissions, not a copy of it."""
    return permissions.may_read_whole_outbox(user)
