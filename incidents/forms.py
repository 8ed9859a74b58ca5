from django import forms
from django.utils import timezone

from core.forms import ModelMultipleChoiceField
from incidents.models import SEVERITY_DESCRIPTIONS, Decision, Incident, Severity, TimelineEntry, Verification
from incidents.selectors import IncidentFilters

SEVERITY_CHOICES = [(value, f"{label} — {SEVERITY_DESCRIPTIONS[value]}") for value, label in Severity.choices]


class DeclareForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        help_text="What is broken, in a few words. “[Outage]: Checkout fails” is fine.",
    )
    severity = forms.TypedChoiceField(
        choices=SEVERITY_CHOICES, coerce=int, widget=forms.RadioSelect, initial=Severity.SEV3
    )
    summary = forms.CharField(
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you know so far: symptoms, who is affected, since when.",
    )
    rollback_considered = forms.CharField(
        label="Would a rollback to the previous version fix this, without causing other problems?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Asked for SEV-1 and SEV-2: restoring service comes before finding the root cause.",
    )
    is_security = forms.BooleanField(
        label="Security incident",
        required=False,
        help_text="Restricted: only participants and admins will see it, anywhere.",
    )

    def clean(self) -> dict:
        data = super().clean()
        severity = data.get("severity")
        if severity in (Severity.SEV1, Severity.SEV2) and not data.get("rollback_considered", "").strip():
            self.add_error(
                "rollback_considered",
                "For a major incident, answer the rollback question first (even “no, because …”).",
            )
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Incident.Status.choices)
    note = forms.CharField(required=False, max_length=2000)


class SeverityForm(forms.Form):
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int)
    note = forms.CharField(required=False, max_length=2000)


class ReopenForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DeployFreezeForm(forms.Form):
    freeze = forms.BooleanField(required=False)


# The kinds the room's entry form offers. Hypotheses, decisions, changes and
# verification have their own tools there (with states and old values); the form
# and the API's timeline still take them as plain text from older clients.
ENTRY_FORM_KINDS = [
    (kind.value, kind.label)
    for kind in (
        TimelineEntry.Kind.NOTE,
        TimelineEntry.Kind.FINDING,
        TimelineEntry.Kind.ACTION,
        TimelineEntry.Kind.TODO,
    )
]


class EntryForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in TimelineEntry.WRITABLE_KINDS], initial=TimelineEntry.Kind.NOTE
    )
    body = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What happened? Markdown works."}),
    )
    occurred_at = forms.DateTimeField(
        required=False,
        label="Happened at (if earlier)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    backdate_reason = forms.CharField(required=False, max_length=300, label="Why back-dated")
    # Optional: one of the incident's open workstreams (the service checks which are).
    workstream = forms.IntegerField(required=False, min_value=1)

    def clean_occurred_at(self):
        value = self.cleaned_data.get("occurred_at")
        if value and value > timezone.now():
            raise forms.ValidationError("An entry cannot happen in the future.")
        return value


class EntryEditForm(forms.Form):
    body = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))


class StrikeForm(forms.Form):
    reason = forms.CharField(max_length=300)


class IncidentFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), ("open", "Open"), ("closed", "Closed"), *Incident.Status.choices],
    )
    severity = forms.TypedChoiceField(
        required=False, choices=[("", "Any severity"), *Severity.choices], coerce=int, empty_value=None
    )
    declared_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    declared_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> IncidentFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return IncidentFilters(
            q=data.get("q", ""),
            status=data.get("status", ""),
            severity=data.get("severity"),
            declared_from=data.get("declared_from"),
            declared_to=data.get("declared_to"),
        )


# --- The response tools in the room ---------------------------------------------------------------


class HypothesisForm(forms.Form):
    statement = forms.CharField(max_length=500, label="What do you suspect?")


class HypothesisDecideForm(forms.Form):
    state = forms.ChoiceField(choices=[("confirmed", "Confirmed"), ("ruled_out", "Ruled out")])
    evidence = forms.CharField(required=False, max_length=5000, label="What decided it")
    evidence_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Evidence link"
    )


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(choices=Decision.Kind.choices)
    summary = forms.CharField(max_length=300, label="What we will do")
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}), label="Why")
    rollback_to = forms.CharField(required=False, max_length=300, label="Rolling back to")
    hypothesis = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Acting on")

    def __init__(self, *args, hypotheses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hypothesis"].choices = [("", "No hypothesis")] + [
            (h.pk, h.statement) for h in hypotheses
        ]


class DecisionCloseForm(forms.Form):
    state = forms.ChoiceField(choices=[("done", "Done"), ("abandoned", "Abandoned")])
    note = forms.CharField(required=False, max_length=2000)


class ChangeForm(forms.Form):
    what = forms.CharField(max_length=300, label="What changed")
    where = forms.CharField(max_length=200, label="Where (service, system or config key)")
    old_value = forms.CharField(required=False, max_length=5000, label="Old value")
    new_value = forms.CharField(required=False, max_length=5000, label="New value")
    how_to_restore = forms.CharField(required=False, max_length=2000, label="How to restore")
    is_sensitive = forms.BooleanField(required=False, label="Sensitive values (shown masked to others)")
    hypothesis = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Acting on")
    occurred_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="It happened at"
    )
    backdate_reason = forms.CharField(required=False, max_length=300, label="Why back-dated")

    def __init__(self, *args, hypotheses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hypothesis"].choices = [("", "No hypothesis")] + [
            (h.pk, h.statement) for h in hypotheses
        ]


class NoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000)


class VerificationForm(forms.Form):
    checked = forms.CharField(max_length=5000, label="What was checked, and how")
    result = forms.ChoiceField(choices=Verification.Result.choices, initial=Verification.Result.PASSED)


class RollbackAnswerForm(forms.Form):
    answer = forms.CharField(
        max_length=2000,
        label="Would a rollback fix this, without causing other problems?",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ContactsForm(forms.Form):
    bridge_url = forms.CharField(required=False, max_length=500, label="Call bridge")
    chat_channel = forms.CharField(required=False, max_length=200, label="Chat channel")
    dashboards = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Dashboards (one link a line)",
    )
    runbooks = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Runbooks (one link a line)",
    )


class DetailsForm(forms.Form):
    """What was declared; services and components come from their apps through the incident's relations."""

    title = forms.CharField(max_length=200)
    summary = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))
    services = ModelMultipleChoiceField(queryset=None, required=False)
    components = ModelMultipleChoiceField(queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The related models belong to roles and statuspage, above this app: reached through
        # the relations, not imported.
        self.fields["services"].queryset = Incident.services.rel.model.objects.order_by("name")
        self.fields["components"].queryset = Incident.components.rel.related_model.objects.filter(
            is_group=False
        ).order_by("name")


def settle_choices(data) -> dict[int, str]:
    """Resolving a major incident with changes in place: `settle_<change id>` = keep | restore.

    Anything else is ignored; the service refuses while a change in place has no answer.
    """
    choices = {}
    for key, value in data.items():
        number = key.removeprefix("settle_")
        if key.startswith("settle_") and number.isascii() and number.isdigit() and len(number) < 19:
            if value in ("keep", "restore"):
                choices[int(number)] = value
    return choices
