"""Shapes of the integrations API: outgoing webhooks and a service's alert settings."""

from rest_framework import serializers

from incidents.models import Severity
from integrations.models import WebhookEvent


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.CharField(source="channel.url", read_only=True)
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    include_restricted = serializers.BooleanField(read_only=True)
    include_customer_data = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), required=False, allow_empty=False
    )
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    include_restricted = serializers.BooleanField(required=False, default=False)
    include_customer_data = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also send customers.contacted events (customer names, calls, direct updates).",
    )


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Verify X-Coolhead-Signature with it; shown once."
    )


class AlertSettingsSerializer(serializers.Serializer):
    integration_key = serializers.CharField(
        source="service.integration_key",
        read_only=True,
        help_text="Alertmanager bearer token / PagerDuty routing_key.",
    )
    severity_label = serializers.CharField(max_length=100)
    severity_map = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=5))
    default_severity = serializers.ChoiceField(choices=Severity.choices)
    auto_resolve = serializers.BooleanField()
    page_on_call = serializers.BooleanField()
