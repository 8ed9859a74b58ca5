from django import forms

from statuspage.models import PUBLISHABLE_STATUSES, Component, ComponentStatus, Impact, Subscriber

# An incident update may set any status but "under maintenance", which belongs to maintenance.
INCIDENT_COMPONENT_CHOICES = [("", "No change")] + [
    (value, label) for value, label in ComponentStatus.choices if value != ComponentStatus.UNDER_MAINTENANCE
]


class PublicUpdateForm(forms.Form):
    title = forms.CharField(
        label="Public title",
        max_length=200,
        help_text="What customers read; it is not the internal title. Say what they notice.",
        error_messages={"required": "A public update needs a public title."},
    )
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in PUBLISHABLE_STATUSES], widget=forms.RadioSelect
    )
    body = forms.CharField(
        label="Message",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Plain words: what customers see, what we are doing, when we will update next.",
        error_messages={"required": "A public update needs a message."},
    )
    impact = forms.ChoiceField(
        choices=[("", "Automatic (from the component statuses)"), *Impact.choices],
        required=False,
        help_text="How bad it is for customers; it colours the page and the overall status.",
    )
    deliver_notifications = forms.BooleanField(
        label="Notify subscribers by e-mail and webhook, and post to the social accounts",
        required=False,
        initial=True,
    )
    confirm_restricted = forms.BooleanField(
        label="This is a security incident, and I mean to publish this update about it.",
        required=False,
    )

    def __init__(self, *args, components: list[Component], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.components = components
        for component in components:
            self.fields[self.component_field(component)] = forms.ChoiceField(
                label=component.name,
                choices=INCIDENT_COMPONENT_CHOICES,
                required=False,
                error_messages={
                    "invalid_choice": f"%(value)s is not a status {component.name} can take in an "
                    "incident update."
                },
            )

    @staticmethod
    def component_field(component: Component) -> str:
        return f"component_{component.public_id}"

    def component_rows(self):
        return [(component, self[self.component_field(component)]) for component in self.components]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "status": data["status"],
            "body": data["body"],
            "impact": data.get("impact") or None,
            "deliver_notifications": bool(data.get("deliver_notifications")),
            "confirm_restricted": bool(data.get("confirm_restricted")),
            "component_statuses": {
                component.public_id: data[self.component_field(component)]
                for component in self.components
                if data.get(self.component_field(component))
            },
        }


class SubscribeForm(forms.Form):
    kind = forms.ChoiceField(
        choices=Subscriber.Kind.choices, initial=Subscriber.Kind.EMAIL, widget=forms.RadioSelect
    )
    email = forms.CharField(label="E-mail address", max_length=254)
    webhook_url = forms.CharField(label="Webhook URL", max_length=500, required=False)
    components = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, components: list[Component], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["components"].choices = [(c.public_id, c.name) for c in components]
