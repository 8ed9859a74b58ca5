from django import template

register = template.Library()


@register.filter
def person(user) -> str:
    """A person's name as responders know them; entries the portal wrote are Coolhead's."""
    if user is None:
        return "Coolhead"
    return user.get_full_name() or user.email or user.get_username()
