"""The integrations API (admins): outgoing webhook subscriptions and a service's alert settings."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from core.api.schema import error_responses, validated
from incidents.services import IncidentError
from integrations import permissions
from integrations.alerts import alert_settings_for, alert_settings_update
from integrations.api import serializers as s
from integrations.models import OutgoingWebhook
from integrations.webhooks import webhook_subscribe, webhook_unsubscribe
from roles.models import Service


def require_staff(request) -> None:
    if not permissions.may_manage_integrations(request.user):
        raise PermissionDenied("Only admins can do this.")


# --- Outgoing webhooks (admins) -----------------------------------------------------------------


class WebhookListView(APIView):
    @extend_schema(
        summary="Outgoing webhook subscriptions (admins)",
        responses={200: s.WebhookSerializer(many=True), **error_responses(403)},
    )
    def get(self, request):
        require_staff(request)
        subscriptions = OutgoingWebhook.objects.select_related("channel").order_by("name", "pk")
        return Response(s.WebhookSerializer(subscriptions, many=True).data)

    @extend_schema(
        summary="Subscribe a URL to incident events (admins)",
        description="Deliveries go through the outbox, as signed JSON: `X-Coolhead-Timestamp` and "
        "`X-Coolhead-Signature: v1=<hex HMAC-SHA256(secret, 'v1:{timestamp}:{raw body}')>`.",
        request=s.WebhookCreateSerializer,
        responses={201: s.WebhookCreatedSerializer, **error_responses(400, 403)},
    )
    def post(self, request):
        require_staff(request)
        data = validated(s.WebhookCreateSerializer, request)
        try:
            subscription, secret = webhook_subscribe(by=request.user, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        subscription.secret = secret
        return Response(s.WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    @extend_schema(summary="Unsubscribe (admins)", responses={204: None, **error_responses(403, 404, 409)})
    def delete(self, request, webhook_id: int):
        require_staff(request)
        subscription = get_object_or_404(OutgoingWebhook, pk=webhook_id)
        webhook_unsubscribe(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceAlertSettingsView(APIView):
    """How a service's alerts become incidents, and its integration key (admins)."""

    @extend_schema(
        summary="A service's alert settings and integration key (admins)",
        responses={200: s.AlertSettingsSerializer, **error_responses(403, 404)},
    )
    def get(self, request, service_id: int):
        require_staff(request)
        service = get_object_or_404(Service, pk=service_id)
        return Response(s.AlertSettingsSerializer(alert_settings_for(service)).data)

    @extend_schema(
        summary="Change a service's alert settings (admins)",
        request=s.AlertSettingsSerializer,
        responses={200: s.AlertSettingsSerializer, **error_responses(400, 403, 404)},
    )
    def put(self, request, service_id: int):
        require_staff(request)
        service = get_object_or_404(Service, pk=service_id)
        data = validated(s.AlertSettingsSerializer, request)
        try:
            updated = alert_settings_update(service=service, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        return Response(s.AlertSettingsSerializer(updated).data)
