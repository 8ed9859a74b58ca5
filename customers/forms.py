"""The room's customer forms, and the admin's CSV import."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from customers.models import AffectedCustomer
from customers.services import KEEP

# "ETA to fix in": what a liaison under stress picks most of the time (minutes), or an exact time.
ETA_CHOICES = [
    ("keep", "Leave as it is"),
    ("30", "30 minutes"),
    ("60", "1 hour"),
    ("90", "1½ hours"),
    ("120", "2 hours"),
    ("180", "3 hours"),
    ("240", "4 hours"),
    ("480", "8 hours"),
    ("1440", "1 day"),
    ("clear", "Not known (clear it)"),
]


class EtaFields(forms.Form):
    eta_in = forms.ChoiceField(choices=ETA_CHOICES, required=False, initial="keep", label="ETA to fix in")
    eta_at = forms.DateTimeField(
        required=False, label="or at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    eta_reason = forms.CharField(required=False, max_length=300, label="Why it moved (optional)")

    def eta(self):
        """The ETA asked for: a time, None to clear it, or KEEP."""
        at = self.cleaned_data.get("eta_at")
        if at is not None:
            return at
        choice = self.cleaned_data.get("eta_in") or "keep"
        if choice == "keep":
            return KEEP
        if choice == "clear":
            return None
        return timezone.now() + timedelta(minutes=int(choice))


class EtaForm(EtaFields):
    def clean(self):
        data = super().clean()
        if data.get("eta_at") is None and (data.get("eta_in") or "keep") == "keep":
            raise forms.ValidationError("Choose when it will be fixed, or clear the ETA.")
        return data


class DirectUpdateForm(EtaFields):
    # Only when sending to some of them ("to" = "chosen"); "all" sends to every affected customer.
    customers = forms.TypedMultipleChoiceField(coerce=int, required=False, label="To")
    subject = forms.CharField(max_length=200, required=False)
    text = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 6}), label="What to tell them"
    )
    confirm_restricted = forms.BooleanField(required=False)

    def __init__(self, *args, customer_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customers"].choices = list(customer_choices)


class CallForm(forms.Form):
    customer = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    outcome = forms.ChoiceField(choices=AffectedCustomer.Call.choices)
    note = forms.CharField(required=False, max_length=500)


class AffectedAddForm(forms.Form):
    customer = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class AffectedRemoveForm(forms.Form):
    customer = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = forms.CharField(max_length=300)


class FollowUpForm(forms.Form):
    follow_up = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    outcome = forms.ChoiceField(choices=[("confirmed", "Confirmed working"), ("closed", "Close")])
    note = forms.CharField(required=False, max_length=500)


class CsvImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: customer, contact, email, alternate_email, phone, preferred_channel, services, "
        "components (services and components: names separated by ';').",
    )
