"""Shift swaps without an admin: ask, accept in one click (an override), decline, cancel."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from comms.models import Message
from roles.models import OnCallLevel, Override, ScheduleEvent, ShiftSwap
from roles.selectors import oncall_at
from roles.services import NotAllowed, RoleError, swap_accept, swap_cancel, swap_decline, swap_request
from tests.roles.conftest import at, profile


@pytest.fixture(autouse=True)
def tuesday_noon():
    """Tuesday 2026-03-24 12:00 UTC: Dev is primary from 08:00 UTC today until 08:00 UTC tomorrow."""
    with time_machine.travel(at(2026, 3, 24, 12, 0), tick=False):
        yield


@pytest.fixture
def afternoon(ic_schedule, dev, sam):
    """Dev asks Sam to cover 14:00-20:00 UTC today."""
    return swap_request(
        schedule=ic_schedule,
        requester=dev,
        colleague=sam,
        starts_at=at(2026, 3, 24, 14, 0),
        ends_at=at(2026, 3, 24, 20, 0),
        note="School play",
    )


def _subjects_to(user) -> list[str]:
    return list(Message.objects.filter(deliveries__user=user).distinct().values_list("subject", flat=True))


def test_asking_notifies_the_colleague_and_is_on_the_history(afternoon, ic_schedule, sam):
    assert afternoon.status == ShiftSwap.Status.REQUESTED
    assert any("Can you cover Incident Commanders" in s for s in _subjects_to(sam))
    event = ScheduleEvent.objects.get(schedule=ic_schedule, kind=ScheduleEvent.Kind.SWAP_REQUESTED)
    assert "Dev Deputy asked Sam Scribe" in event.text
    # Nothing changes on the roster until the colleague accepts.
    assert oncall_at(ic_schedule, at(2026, 3, 24, 15, 0)).primary.first_name == "Dev"


def test_accepting_writes_an_override_and_tells_both(afternoon, ic_schedule, dev, sam):
    swap = swap_accept(swap=afternoon, by=sam)
    assert swap.status == ShiftSwap.Status.ACCEPTED
    override = Override.objects.get(pk=swap.override_id)
    assert (override.user, override.level) == (sam, OnCallLevel.PRIMARY)
    assert (override.starts_at, override.ends_at) == (at(2026, 3, 24, 14, 0), at(2026, 3, 24, 20, 0))
    assert oncall_at(ic_schedule, at(2026, 3, 24, 15, 0)).primary == sam
    assert oncall_at(ic_schedule, at(2026, 3, 24, 21, 0)).primary == dev
    assert any(s.startswith("Swap accepted") for s in _subjects_to(dev))
    assert any(s.startswith("Swap accepted") for s in _subjects_to(sam))
    assert ScheduleEvent.objects.filter(schedule=ic_schedule, kind=ScheduleEvent.Kind.SWAP_ACCEPTED).exists()


def test_a_swap_accepted_late_covers_only_what_is_left(afternoon, sam):
    with time_machine.travel(at(2026, 3, 24, 16, 0), tick=False):
        swap = swap_accept(swap=afternoon, by=sam)
    assert swap.override.starts_at == at(2026, 3, 24, 16, 0)


def test_only_the_colleague_accepts_or_declines(afternoon, dev, iris, admin):
    for by in (dev, iris, admin):
        with pytest.raises(NotAllowed):
            swap_accept(swap=afternoon, by=by)
        with pytest.raises(NotAllowed):
            swap_decline(swap=afternoon, by=by)
    assert not Override.objects.exists()


def test_a_swap_is_answered_once(afternoon, sam):
    swap_accept(swap=afternoon, by=sam)
    with pytest.raises(RoleError, match="accepted already"):
        swap_accept(swap=afternoon, by=sam)
    with pytest.raises(RoleError, match="accepted already"):
        swap_decline(swap=afternoon, by=sam)
    assert Override.objects.count() == 1


def test_asking_covers_only_your_own_shift(ic_schedule, dev, sam, iris):
    with pytest.raises(RoleError, match="your own shift"):
        # Iris is not on call today.
        swap_request(
            schedule=ic_schedule,
            requester=iris,
            colleague=sam,
            starts_at=at(2026, 3, 24, 14, 0),
            ends_at=at(2026, 3, 24, 20, 0),
        )
    with pytest.raises(RoleError, match="your own shift"):
        # Dev's shift ends at 08:00 tomorrow; Sam's begins.
        swap_request(
            schedule=ic_schedule,
            requester=dev,
            colleague=iris,
            starts_at=at(2026, 3, 24, 14, 0),
            ends_at=at(2026, 3, 25, 10, 0),
        )
    with pytest.raises(RoleError, match="other than yourself"):
        swap_request(
            schedule=ic_schedule,
            requester=dev,
            colleague=dev,
            starts_at=at(2026, 3, 24, 14, 0),
            ends_at=at(2026, 3, 24, 20, 0),
        )
    assert not ShiftSwap.objects.exists()


def test_a_backup_asks_for_cover_of_the_backup_turn(ic_schedule, sam, iris):
    # Today Dev is primary and Sam (next in the rotation) backs up.
    swap = swap_request(
        schedule=ic_schedule,
        requester=sam,
        colleague=iris,
        level=OnCallLevel.BACKUP,
        starts_at=at(2026, 3, 24, 14, 0),
        ends_at=at(2026, 3, 24, 20, 0),
    )
    swap_accept(swap=swap, by=iris)
    assert oncall_at(ic_schedule, at(2026, 3, 24, 15, 0)).backup == iris


def test_accepting_after_the_roster_changed_is_refused(afternoon, ic_schedule, iris, sam):
    # An admin gave the afternoon to Iris meanwhile: Dev no longer holds it to give away.
    Override.objects.create(
        schedule=ic_schedule, user=iris, starts_at=at(2026, 3, 24, 13, 0), ends_at=at(2026, 3, 24, 18, 0)
    )
    with pytest.raises(RoleError, match="roster changed"):
        swap_accept(swap=afternoon, by=sam)
    afternoon.refresh_from_db()
    assert afternoon.status == ShiftSwap.Status.REQUESTED


def test_declining_and_cancelling_tell_the_other_person(ic_schedule, afternoon, dev, sam):
    swap_decline(swap=afternoon, by=sam)
    assert any(s.startswith("Swap declined") for s in _subjects_to(dev))
    second = swap_request(
        schedule=ic_schedule,
        requester=dev,
        colleague=sam,
        starts_at=at(2026, 3, 24, 14, 0),
        ends_at=at(2026, 3, 24, 16, 0),
    )
    with pytest.raises(NotAllowed):
        swap_cancel(swap=second, by=sam)
    swap_cancel(swap=second, by=dev)
    assert any(s.startswith("Swap cancelled") for s in _subjects_to(sam))
    kinds = set(ScheduleEvent.objects.filter(schedule=ic_schedule).values_list("kind", flat=True))
    assert {ScheduleEvent.Kind.SWAP_DECLINED, ScheduleEvent.Kind.SWAP_CANCELLED} <= kinds


def test_a_swap_that_is_over_or_too_long_is_refused(ic_schedule, dev, sam):
    with pytest.raises(RoleError, match="over already"):
        swap_request(
            schedule=ic_schedule,
            requester=dev,
            colleague=sam,
            starts_at=at(2026, 3, 24, 9, 0),
            ends_at=at(2026, 3, 24, 11, 0),
        )
    with pytest.raises(RoleError, match="at most 31 days"):
        swap_request(
            schedule=ic_schedule,
            requester=dev,
            colleague=sam,
            starts_at=at(2026, 3, 24, 14, 0),
            ends_at=at(2026, 3, 24, 14, 0) + timedelta(days=32),
        )


# --- Through the pages -----------------------------------------------------------------------------


def test_asking_through_the_form_uses_my_time_zone(client, ic_schedule, dev, sam):
    profile(dev, tz="Europe/Berlin")
    client.force_login(dev)
    url = reverse("roles:swap_new", kwargs={"schedule_id": ic_schedule.pk})
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "level": OnCallLevel.PRIMARY,
            "colleague": sam.pk,
            "starts_at": "2026-03-24T15:00",  # Berlin, CET: 14:00 UTC
            "ends_at": "2026-03-24T21:00",
            "note": "",
        },
    )
    swap = ShiftSwap.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("roles:swap", args=[swap.pk])
    assert (swap.starts_at, swap.ends_at) == (at(2026, 3, 24, 14, 0), at(2026, 3, 24, 20, 0))


def test_the_form_shows_the_refusal(client, ic_schedule, iris, sam):
    client.force_login(iris)
    url = reverse("roles:swap_new", kwargs={"schedule_id": ic_schedule.pk})
    response = client.post(
        url, {"level": 1, "colleague": sam.pk, "starts_at": "2026-03-24T15:00", "ends_at": "2026-03-24T21:00"}
    )
    assert response.status_code == 422
    assert "a swap covers your own shift only" in response.content.decode()


def test_accepting_in_one_click_leads_to_the_calendar_with_the_override(client, afternoon, sam):
    client.force_login(sam)
    page = client.get(reverse("roles:swap", args=[afternoon.pk])).content.decode()
    assert "Accept: I cover this" in page
    response = client.post(reverse("roles:swap_accept", args=[afternoon.pk]))
    assert response.status_code == 302
    week = client.get(response["Location"]).content.decode()
    assert "Swap #" in week and "covers Dev Deputy" in week


def test_someone_else_cannot_accept_through_the_page(client, afternoon, iris):
    client.force_login(iris)
    assert (
        "Accept: I cover this" not in client.get(reverse("roles:swap", args=[afternoon.pk])).content.decode()
    )
    response = client.post(reverse("roles:swap_accept", args=[afternoon.pk]))
    assert response.status_code == 403
    assert not Override.objects.exists()


def test_the_admin_shows_swaps_and_the_schedule_history(client, afternoon, admin, ic_schedule):
    client.force_login(admin)
    page = client.get(reverse("admin:roles_schedule_change", args=[ic_schedule.pk]))
    assert page.status_code == 200
    assert "Dev Deputy asked Sam Scribe to cover" in page.content.decode()
    swaps = client.get(reverse("admin:roles_shiftswap_changelist"))
    assert swaps.status_code == 200 and "Sam Scribe" in swaps.content.decode()
