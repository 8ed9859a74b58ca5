from django import forms
from django.contrib.auth import get_user_model

from core.forms import ModelMultipleChoiceField
from roles.checklists import CHECKLISTS, SECURITY_STEPS
from roles.models import IncidentRole, OnCallLevel, Schedule, Service

User = get_user_model()


class AssignForm(forms.Form):
    role = forms.ChoiceField(choices=IncidentRole.choices)
    # Every user, so that an inactive one gets the service's clear refusal
    # rather than "select a valid choice".
    user = forms.ModelChoiceField(
        queryset=User.objects.all(), error_messages={"invalid_choice": "No such person."}
    )


class ChecklistForm(forms.Form):
    # Every key any checklist has, a restricted incident's security steps too (the service checks
    # that the key is on this holder's checklist).
    item = forms.ChoiceField(
        choices=sorted(
            {(i.key, i.key) for checklist in CHECKLISTS.values() for i in checklist.items}
            | {(i.key, i.key) for steps in SECURITY_STEPS.values() for i in steps}
        )
    )
    done = forms.BooleanField(required=False)


class PageForm(forms.Form):
    """Whom to page: `person:<id>`, `service:<id>` or `schedule:<id>`."""

    target = forms.CharField(max_length=40)
    message = forms.CharField(max_length=500, required=False)

    def clean_target(self):
        kind, _, pk = self.cleaned_data["target"].partition(":")
        models = {
            "person": User.objects.all(),
            "service": Service.objects.all(),
            "schedule": Schedule.objects.all(),
        }
        if kind not in models or not (pk.isascii() and pk.isdigit()) or len(pk) > 18:
            raise forms.ValidationError("Choose a person, a service or a schedule to page.")
        found = models[kind].filter(pk=int(pk)).first()
        if found is None:
            raise forms.ValidationError(f"That {kind} does not exist.")
        return kind, found


class PageIcForm(forms.Form):
    message = forms.CharField(max_length=500, required=False)


class HandoverForm(forms.Form):
    new_holder = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"),
        label="New holder",
        error_messages={"invalid_choice": "Choose an active person to hand over to."},
    )
    current_state = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Current state"
    )
    tried = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False, label="What was tried"
    )
    next_steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
        label="What you would try next",
    )
    hypotheses = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False, label="Open hypotheses"
    )

    def __init__(self, *args, holder=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if holder is not None:
            self.fields["new_holder"].queryset = self.fields["new_holder"].queryset.exclude(pk=holder.pk)


class ExecutiveSummaryForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), max_length=10000, label="Summary")
    next_step = forms.CharField(max_length=500, required=False, label="Next planned step")


class SwapForm(forms.Form):
    """Ask a colleague to cover part of your shift. Times are read in the asker's own time zone."""

    level = forms.TypedChoiceField(choices=OnCallLevel.choices, coerce=int, initial=OnCallLevel.PRIMARY)
    colleague = forms.ModelChoiceField(queryset=User.objects.none(), empty_label="Choose a colleague")
    starts_at = forms.DateTimeField(
        label="From",
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label="Until",
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note = forms.CharField(max_length=200, required=False, help_text="Optional: why, or what to know.")

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["colleague"].queryset = colleagues
        self.fields["colleague"].label_from_instance = lambda u: u.get_full_name() or u.get_username()


# --- Command and control: proposals, tasks, workstreams, participants --------------------------------


def active_people():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class PersonChoiceField(forms.ModelChoiceField):
    """People by name, not username (issue 13: "names, not usernames")."""

    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class PeopleChoiceField(ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class ProposalForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("status", "status"), ("severity", "severity"), ("decision", "decision"), ("task", "task")]
    )
    status = forms.CharField(required=False, max_length=16)
    severity = forms.IntegerField(required=False, min_value=1, max_value=5)
    kind = forms.CharField(required=False, max_length=16)
    summary = forms.CharField(required=False, max_length=300)
    rollback_to = forms.CharField(required=False, max_length=300)
    title = forms.CharField(required=False, max_length=300)
    assignee = forms.IntegerField(required=False, min_value=1)
    # Optional: the workstream it is filed under (its lead answers its members' task proposals).
    workstream = forms.IntegerField(required=False, min_value=1)
    reason = forms.CharField(max_length=2000)

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "status": {"status": data["status"]},
            "severity": {"severity": data["severity"]},
            "decision": {
                "kind": data["kind"],
                "summary": data["summary"],
                "rollback_to": data["rollback_to"],
            },
            "task": {"title": data["title"], "assignee": data["assignee"]},
        }[data["action"]]


class ProposalAnswerForm(forms.Form):
    answer = forms.CharField(required=False, max_length=2000)


class TaskForm(forms.Form):
    title = forms.CharField(max_length=300)
    assignee = PersonChoiceField(queryset=active_people())
    due_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    workstream = forms.IntegerField(required=False)


class TaskMoveForm(forms.Form):
    state = forms.ChoiceField(
        choices=[("open", "Open"), ("doing", "Doing"), ("done", "Done"), ("dropped", "Dropped")]
    )


class WorkstreamForm(forms.Form):
    name = forms.CharField(max_length=100)
    goal = forms.CharField(max_length=300)
    lead = PersonChoiceField(queryset=active_people())
    members = PeopleChoiceField(queryset=active_people(), required=False)


class ParticipantForm(forms.Form):
    person = PersonChoiceField(queryset=active_people())
    reason = forms.CharField(max_length=300)
