from django import forms
from django.core.exceptions import ValidationError

from comms.models import Delivery


class OutboxFilterForm(forms.Form):
    incident = forms.CharField(required=False, max_length=20, label="Incident")
    state = forms.ChoiceField(
        required=False, choices=[("", "Any state"), *Delivery.State.choices], label="Delivery state"
    )

    def clean_incident(self) -> int | None:
        value = self.cleaned_data["incident"].strip().upper().removeprefix("INC-")
        if not value:
            return None
        # ASCII digits only ("²" is a digit to str.isdigit(), not to int()), and a number that fits.
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise ValidationError("An incident is a number such as 42 or INC-42.")
        return int(value)


class DeliveryStateForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *Delivery.State.choices])
