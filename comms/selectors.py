"""Reads of the outbox and the notifications, with the visibility rules applied here."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from comms import permissions
from comms.models import Channel, ContactMethod, Delivery, Message


def email_channel() -> Channel:
    """The system e-mail channel (created on first use)."""
    channel, _ = Channel.objects.get_or_create(
        slug=Channel.EMAIL_SLUG, defaults={"name": "E-mail", "kind": Channel.Kind.EMAIL}
    )
    return channel


def in_app_channel() -> Channel:
    """The system in-app channel: the bell in the top bar (created on first use)."""
    channel, _ = Channel.objects.get_or_create(
        slug=Channel.IN_APP_SLUG, defaults={"name": "In-app", "kind": Channel.Kind.IN_APP}
    )
    return channel


def contact_methods_channel() -> Channel:
    """The system channel for people's own contact methods (apprise URLs; created on first use)."""
    channel, _ = Channel.objects.get_or_create(
        slug=Channel.APPRISE_SLUG, defaults={"name": "Contact methods", "kind": Channel.Kind.APPRISE}
    )
    return channel


def contact_methods_of(user: AbstractBaseUser) -> QuerySet[ContactMethod]:
    return ContactMethod.objects.filter(user=user).order_by("label", "pk")


# --- Notifications (the bell) ----------------------------------------------------


def notifications_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Delivery]:
    """The signed-in person's in-app notifications, newest first.

    A notification about an incident they can no longer see (a restricted one
    they left) is hidden like the incident itself.
    """
    if not (user.is_authenticated and user.is_active):
        return Delivery.objects.none()
    about = Q(message__incident__isnull=True)
    visible = permissions.visible_subjects(user)
    if visible is not None:
        about |= Q(message__incident__in=visible)
    return (
        Delivery.objects.filter(
            user=user,
            channel__kind=Channel.Kind.IN_APP,
            state=Delivery.State.SENT,
        )
        .filter(about)
        .select_related("message", "message__incident")
        .order_by("-created_at", "-id")
    )


def unread_notification_count(user: AbstractBaseUser | AnonymousUser) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()


# --- The outbox ------------------------------------------------------------------------


def messages_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Message]:
    """Messages the person may inspect in the outbox.

    With the outbox permission: every message (restricted incidents and account
    mail included). Others: only messages about an incident they can see AND
    currently command (comms/permissions.py).
    """
    if permissions.may_read_whole_outbox(user):
        return Message.objects.all()
    visible, commanded = permissions.visible_subjects(user), permissions.commanded_subjects(user)
    if visible is None or commanded is None:
        return Message.objects.none()
    return Message.objects.filter(incident__in=visible).filter(incident__in=commanded)


def outbox_messages(
    *, user: AbstractBaseUser | AnonymousUser, incident_number: int | None = None, state: str = ""
) -> QuerySet[Message]:
    """Messages, newest first, each with a count of its deliveries per state (one query)."""
    qs = messages_visible_to(user).select_related("incident")
    if incident_number is not None:
        qs = qs.filter(incident__number=incident_number)
    if state:
        qs = qs.filter(Exists(Delivery.objects.filter(message=OuterRef("pk"), state=state)))
    counts = {
        f"n_{value}": Count("deliveries", filter=Q(deliveries__state=value))
        for value in Delivery.State.values
    }
    return qs.annotate(n_total=Count("deliveries"), **counts).order_by("-created_at", "-id")


def outbox_message_get(*, user: AbstractBaseUser | AnonymousUser, message_id: int) -> Message | None:
    return messages_visible_to(user).select_related("incident").filter(pk=message_id).first()


def message_deliveries(*, message: Message, state: str = "") -> QuerySet[Delivery]:
    qs = message.deliveries.select_related("channel", "user").order_by("id")
    if state:
        qs = qs.filter(state=state)
    return qs


def delivery_get_for_outbox(*, user: AbstractBaseUser | AnonymousUser, delivery_id: int) -> Delivery | None:
    return (
        Delivery.objects.filter(pk=delivery_id, message__in=messages_visible_to(user))
        .select_related("message", "channel")
        .first()
    )
