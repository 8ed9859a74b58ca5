"""Who may read what of the outbox and the bell, written once.

comms knows nothing of incidents. A message may name what it is about (its
`incident`), and the apps above say, at start-up, who may see such a subject
and who answers for it:

- incidents registers which subjects a person may see (restricted incidents are
  hidden from outsiders here as everywhere);
- roles registers which subjects a person commands (the Incident Commander
  reads their incident's messages in the outbox).

The whole outbox (account mail included) needs the `comms.view_outbox`
permission, which superusers have; being staff is not enough.
"""

from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

# The Django permission that opens the whole outbox (see Message.Meta.permissions).
VIEW_OUTBOX = "comms.view_outbox"

Person = AbstractBaseUser | AnonymousUser
SubjectRule = Callable[[AbstractBaseUser], QuerySet]

_visible_subjects: SubjectRule | None = None
_commanded_subjects: SubjectRule | None = None


def register_subject_rules(
    *, visible: SubjectRule | None = None, commanded: SubjectRule | None = None
) -> None:
    """Called from the AppConfig.ready() of the apps above; each rule returns a queryset of subjects."""
    global _visible_subjects, _commanded_subjects
    if visible is not None:
        _visible_subjects = visible
    if commanded is not None:
        _commanded_subjects = commanded


def _active(user: Person) -> bool:
    return bool(user.is_authenticated and user.is_active)


def may_read_whole_outbox(user: Person) -> bool:
    # The permission is an admin's (staff) to hold: asking it of responders would cost every
    # room two permission queries for an answer that is always no.
    return _active(user) and (user.is_superuser or (user.is_staff and user.has_perm(VIEW_OUTBOX)))


def visible_subjects(user: Person) -> QuerySet | None:
    """The subjects whose messages and notifications this person may see; None means none."""
    if not _active(user) or _visible_subjects is None:
        return None
    return _visible_subjects(user)


def commanded_subjects(user: Person) -> QuerySet | None:
    """The subjects whose outbox this person may read (their own incidents); None means none."""
    if not _active(user) or _commanded_subjects is None:
        return None
    return _commanded_subjects(user)


def may_use_outbox(user: Person) -> bool:
    """The outbox page: the whole of it, or the messages of the incidents one commands."""
    if may_read_whole_outbox(user):
        return True
    commanded = commanded_subjects(user)
    return commanded is not None and commanded.exists()


# --- Contact methods --------------------------------------------------------------------------


def may_manage_contact_method(user: Person, method) -> bool:
    """A person adds, tests and removes their own contact methods; nobody else does (an admin
    removes one in the admin). Sending a test to someone else's phone would be a way to pester them."""
    return bool(user.is_authenticated and user.is_active and method.user_id == user.pk)
