"""Shapes of the reviews API. Serializers check the shape of input; services check its meaning."""

from django.conf import settings
from rest_framework import serializers

from core.api.serializers import PersonRefField, PersonSerializer
from reviews.models import ContributingFactor, FollowUp, Review


class ReviewSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident_id", read_only=True)
    reference = serializers.CharField(source="incident.reference", read_only=True)
    owner = PersonSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    record = serializers.SerializerMethodField(
        help_text="What the review pre-fills from the incident's record."
    )
    contributing_factors = serializers.SerializerMethodField(
        help_text="[{id, text, whys: [...]}]: nested whys under each factor."
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "incident",
            "reference",
            "state",
            "owner",
            "due_on",
            "url",
            *Review.SECTIONS,
            "contributing_factors",
            "meeting_at",
            "meeting_minutes",
            "meeting_location",
            "published_at",
            "public_postmortem",
            "record",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, review: Review) -> str:
        return settings.SITE_URL + review.get_absolute_url()

    def get_record(self, review: Review) -> dict:
        return self.context.get("record", {})

    def get_contributing_factors(self, review: Review) -> list[dict]:
        def node(n: dict) -> dict:
            return {"id": n["factor"].pk, "text": n["factor"].text, "whys": [node(w) for w in n["whys"]]}

        return [node(n) for n in self.context.get("factors", [])]


class ReviewStartSerializer(serializers.Serializer):
    owner = PersonRefField(required=False, help_text="Default: the Incident Commander, else you.")


class FactorChangeSerializer(serializers.Serializer):
    """One contributing factor to add (no id) or to edit (its id), as the review page does."""

    id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="A factor of this review to edit; omit to add one.",
    )
    parent = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text='When adding: the factor of this review that the new one answers "why?" for.',
    )
    text = serializers.CharField(max_length=2000)

    def validate(self, attrs: dict) -> dict:
        if "id" in attrs and attrs.get("parent") is not None:
            raise serializers.ValidationError("A factor keeps its place: give `parent` only when adding one.")
        return attrs


# Needs the review in its context (`review`): the factor ids it is given must be that review's.
class ReviewWriteSerializer(serializers.Serializer):

    summary = serializers.CharField(required=False, allow_blank=True, max_length=20000, trim_whitespace=False)
    customer_impact = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    detection = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    went_well = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    went_badly = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    lucky = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    lessons = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    owner = PersonRefField(required=False)
    due_on = serializers.DateField(required=False)
    contributing_factors = FactorChangeSerializer(
        many=True,
        required=False,
        max_length=100,
        help_text="Factors to add or edit, in order; factors not listed stay as they are. "
        "An id or parent that is not a factor of this review refuses the whole change.",
    )

    def validate_contributing_factors(self, changes: list[dict]) -> list[dict]:
        """The changes with their factors looked up: {factor, parent, text} for services.factors_write."""
        review = self.context["review"]
        factors = {f.pk: f for f in ContributingFactor.objects.filter(review=review)}
        edited: set[int] = set()
        resolved = []
        for change in changes:
            for key in ("id", "parent"):
                ref = change.get(key)
                if ref is not None and ref not in factors:
                    raise serializers.ValidationError(f"This review has no contributing factor {ref}.")
            if "id" in change:
                if change["id"] in edited:
                    raise serializers.ValidationError(f"Factor {change['id']} is listed twice.")
                edited.add(change["id"])
            resolved.append(
                {
                    "factor": factors.get(change.get("id")),
                    "parent": factors.get(change.get("parent")),
                    "text": change["text"],
                }
            )
        return resolved


class ReviewStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Review.State.choices)
    public_postmortem = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10000,
        help_text="With state=published: a customer-facing postmortem for the status page.",
    )


class ReviewExportSerializer(serializers.Serializer):
    filename = serializers.CharField()
    markdown = serializers.CharField()


class FollowUpSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident_id", read_only=True)
    reference = serializers.CharField(source="incident.reference", read_only=True)
    owner = PersonSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "incident",
            "reference",
            "review",
            "title",
            "description",
            "owner",
            "due_on",
            "priority",
            "state",
            "wont_do_reason",
            "tracker_url",
            "source",
            "url",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_url(self, follow_up: FollowUp) -> str:
        return settings.SITE_URL + follow_up.get_absolute_url()


class FollowUpCreateSerializer(serializers.Serializer):
    incident = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The incident's id.")
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    owner = PersonRefField(required=False, allow_null=True)
    due_on = serializers.DateField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=FollowUp.Priority.choices, required=False)
    tracker_url = serializers.URLField(required=False, allow_blank=True, max_length=500)


class FollowUpUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    owner = PersonRefField(required=False, allow_null=True)
    due_on = serializers.DateField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=FollowUp.Priority.choices, required=False)
    tracker_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    state = serializers.ChoiceField(choices=FollowUp.State.choices, required=False)
    wont_do_reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class ClockSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True, help_text="Seconds.")
    p90 = serializers.FloatField(allow_null=True, help_text="Seconds.")


class ClocksSerializer(serializers.Serializer):
    to_acknowledge = ClockSerializer()
    to_mitigate = ClockSerializer()
    to_resolve = ClockSerializer()


class SeverityRowSerializer(serializers.Serializer):
    severity = serializers.IntegerField()
    label = serializers.CharField()
    incidents = serializers.IntegerField()
    not_acknowledged = serializers.IntegerField()
    clocks = ClocksSerializer()


class ServiceRowSerializer(serializers.Serializer):
    service = serializers.CharField()
    incidents = serializers.IntegerField()
    clocks = ClocksSerializer()


class WeekSerializer(serializers.Serializer):
    start = serializers.DateField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="{severity: incidents}")
    total = serializers.IntegerField()


class PagesRowSerializer(serializers.Serializer):
    person = serializers.CharField()
    pages = serializers.IntegerField()
    outside_hours = serializers.IntegerField()


class InsightsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    incident_count = serializers.IntegerField()
    weeks = WeekSerializer(many=True)
    by_severity = SeverityRowSerializer(many=True)
    by_service = ServiceRowSerializer(many=True)
    pages_by_person = PagesRowSerializer(many=True)
    follow_ups = serializers.DictField(child=serializers.IntegerField())
    reviews = serializers.DictField(child=serializers.IntegerField())
