"""Forms of the signed-in person's profile page: contact methods and notification rules."""

from django import forms

from comms.models import ContactMethod
from roles.models import Urgency
from roles.services.notification_rules import MAX_DELAY_MINUTES

EMAIL_CHOICE = "email"


class ContactMethodForm(forms.Form):
    label = forms.CharField(max_length=60, help_text="Your name for it, e.g. “Phone (ntfy)”.")
    # Typed once; never shown back (the page shows the service and the server only).
    url = forms.CharField(
        label="apprise URL",
        max_length=2000,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "ntfys://ntfy.example.com/topic",
            }
        ),
    )


class RuleForm(forms.Form):
    urgency = forms.ChoiceField(choices=Urgency.choices)
    method = forms.ChoiceField(label="Contact method")
    delay_minutes = forms.IntegerField(
        label="After (minutes)", min_value=0, max_value=MAX_DELAY_MINUTES, initial=0
    )

    def __init__(self, *args, methods: list[ContactMethod], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.methods = {str(method.pk): method for method in methods}
        self.fields["method"].choices = [(EMAIL_CHOICE, "E-mail (your account address)")] + [
            (str(method.pk), f"{method.label} ({method.service})") for method in methods
        ]

    def contact_method(self) -> ContactMethod | None:
        choice = self.cleaned_data["method"]
        return None if choice == EMAIL_CHOICE else self.methods[choice]
