"""Forms check the shape of what people send; the services check its meaning."""

from django import forms
from django.contrib.auth import get_user_model

from core.forms import ModelMultipleChoiceField
from reviews.models import FollowUp, Review
from reviews.selectors import FOLLOW_UP_SORTS, FOLLOW_UP_VIEWS, FollowUpFilters

User = get_user_model()


def people():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class SectionsForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in Review.SECTIONS.items():
            self.fields[name] = forms.CharField(
                label=label, required=False, max_length=Review.SECTION_MAX, widget=forms.Textarea, strip=False
            )


class SteerForm(forms.Form):
    owner = PersonChoice(queryset=people(), required=False)
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people()


class FactorForm(forms.Form):
    text = forms.CharField(max_length=2000)
    parent = forms.IntegerField(required=False, min_value=1)


class PinForm(forms.Form):
    entry = forms.IntegerField(min_value=1)
    included = forms.BooleanField(required=False)


class MeetingForm(forms.Form):
    at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    minutes = forms.IntegerField(min_value=5, max_value=480, initial=60)
    location = forms.CharField(max_length=300, required=False)
    attendees = ModelMultipleChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = people()


class StateForm(forms.Form):
    state = forms.ChoiceField(choices=Review.State.choices)


class PublishForm(forms.Form):
    public_postmortem = forms.CharField(max_length=10000, required=False, widget=forms.Textarea)


class AmendForm(forms.Form):
    body = forms.CharField(max_length=10000, widget=forms.Textarea)


class FollowUpForm(forms.Form):
    title = forms.CharField(max_length=300)
    description = forms.CharField(max_length=10000, required=False, widget=forms.Textarea)
    owner = PersonChoice(queryset=User.objects.none(), required=False)
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.TypedChoiceField(
        choices=FollowUp.Priority.choices, coerce=int, initial=FollowUp.Priority.NORMAL
    )
    tracker_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people()


class FollowUpEditForm(FollowUpForm):
    state = forms.ChoiceField(choices=FollowUp.State.choices)
    wont_do_reason = forms.CharField(max_length=1000, required=False)


class FollowUpFilterForm(forms.Form):
    view = forms.ChoiceField(choices=list(FOLLOW_UP_VIEWS.items()), required=False)
    state = forms.ChoiceField(
        choices=[("open", "Open or in progress"), ("closed", "Done or won't do"), ("", "Any state")]
        + list(FollowUp.State.choices),
        required=False,
    )
    incident = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    service = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    priority = forms.TypedChoiceField(
        choices=[("", "Any priority")] + list(FollowUp.Priority.choices),
        coerce=int,
        required=False,
        empty_value=None,
    )
    sort = forms.ChoiceField(
        choices=[
            ("due", "Due date"),
            ("priority", "Priority"),
            ("newest", "Newest"),
            ("incident", "Incident"),
        ],
        required=False,
    )

    def filters(self) -> FollowUpFilters:
        if not self.is_bound:
            return FollowUpFilters()
        data = self.cleaned_data if self.is_valid() else {}
        # No state asked for (a tab's link) means the open ones; "Any state" sends an empty one.
        state = data.get("state") if "state" in self.data else "open"
        return FollowUpFilters(
            view=data.get("view") or "mine",
            state=state if state is not None else "open",
            incident=data.get("incident"),
            service=data.get("service"),
            priority=data.get("priority"),
            sort=data.get("sort") if data.get("sort") in FOLLOW_UP_SORTS else "due",
        )


class BulkForm(forms.Form):
    state = forms.ChoiceField(choices=FollowUp.State.choices)
    reason = forms.CharField(max_length=1000, required=False)

    # At most this many follow-ups in one bulk change (a page shows 50).
    MAX_IDS = 200

    def _values(self) -> list[str]:
        return self.data.getlist("ids") if hasattr(self.data, "getlist") else []

    def clean(self) -> dict:
        # A bad id refuses the whole change: moving the others would be half of what was asked.
        values = self._values()
        if any(not (v.isascii() and v.isdigit() and 0 < len(v) < 18) for v in values):
            raise forms.ValidationError("A chosen follow-up is not one of the list's.")
        if len(set(values)) > self.MAX_IDS:
            raise forms.ValidationError(f"Choose at most {self.MAX_IDS} follow-ups at once.")
        return super().clean()

    def ids(self) -> list[int]:
        return sorted({int(v) for v in self._values()})
