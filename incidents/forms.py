from django import forms
from django.utils import timezone

from incidents.models import SEVERITY_DESCRIPTIONS, Incident, Severity, TimelineEntry
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


ENTRY_FORM_KINDS = [
    (kind.value, kind.label)
    for kind in (
        TimelineEntry.Kind.NOTE,
        TimelineEntry.Kind.FINDING,
        TimelineEntry.Kind.ACTION,
        TimelineEntry.Kind.TODO,
        TimelineEntry.Kind.HYPOTHESIS,
        TimelineEntry.Kind.DECISION,
        TimelineEntry.Kind.CHANGE,
        TimelineEntry.Kind.VERIFICATION,
    )
]


class EntryForm(forms.Form):
    kind = forms.ChoiceField(choices=ENTRY_FORM_KINDS, initial=TimelineEntry.Kind.NOTE)
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
