"""API views: look up through the visibility selector, validate the shape, call the service.

A restricted incident a person may not see answers 404 on every endpoint, as if
it did not exist.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import services
from incidents.api import serializers as s
from incidents.api.errors import error_response
from incidents.api.tokens import api_token_issue, api_token_revoke
from incidents.integrations.alerts import alert_settings_for, alert_settings_update
from incidents.integrations.webhooks import webhook_subscribe, webhook_unsubscribe
from incidents.models import ApiToken, Incident, OutgoingWebhook, TimelineEntry
from incidents.selectors import IncidentFilters, incident_list, incidents_visible_to
from incidents.services import IncidentError
from roles import selectors as roles_selectors
from roles.models import Page, RoleAssignment, Service

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(s.ErrorSerializer, description="No or bad token"),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed"),
    404: OpenApiResponse(s.ErrorSerializer, description="No such object (or not visible to you)"),
    409: OpenApiResponse(s.ErrorSerializer, description="The incident's state forbids it"),
}


def _errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in (401, *codes)}


def visible_incident(request, pk: int) -> Incident:
    """The incident if this person may see it; a 404 otherwise, restricted or not."""
    return get_object_or_404(incidents_visible_to(request.user), pk=pk)


def _with_roles(qs):
    current = RoleAssignment.objects.filter(ended_at__isnull=True).select_related("user", "assigned_by")
    return qs.select_related("declared_by").prefetch_related(
        Prefetch("role_assignments", queryset=current, to_attr="current_roles")
    )


def _incident_answer(request, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
    incident = _with_roles(Incident.objects.filter(pk=incident.pk)).get()
    return Response(s.IncidentSerializer(incident, context={"request": request}).data, status=code)


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Incidents ----------------------------------------------------------------------------------


class IncidentListView(generics.GenericAPIView):
    serializer_class = s.IncidentSerializer

    @extend_schema(
        summary="List incidents you can see",
        parameters=[
            OpenApiParameter(
                "status", str, description="open, closed, or one status (triage, investigating, ...)"
            ),
            OpenApiParameter("severity", int, description="1 to 5"),
            OpenApiParameter("q", str, description="Text in the title or summary, or INC-<number>"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: s.IncidentSerializer(many=True), **_errors(400)},
    )
    def get(self, request):
        status_filter = request.query_params.get("status", "")
        if status_filter and status_filter not in ("open", "closed", *Incident.Status.values):
            return error_response(
                400,
                f"{status_filter!r} is not a status, 'open' or 'closed'.",
                "invalid",
                {"status": ["Unknown status."]},
            )
        severity = request.query_params.get("severity") or None
        if severity is not None:
            if not severity.isdigit() or not 1 <= int(severity) <= 5:
                return error_response(400, "severity is 1 to 5.", "invalid", {"severity": ["1 to 5."]})
            severity = int(severity)
        filters = IncidentFilters(
            q=request.query_params.get("q", "")[:200], status=status_filter, severity=severity
        )
        qs = _with_roles(incident_list(user=request.user, filters=filters))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Declare an incident",
        request=s.IncidentDeclareSerializer,
        responses={201: s.IncidentSerializer, **_errors(400)},
    )
    def post(self, request):
        data = _validated(s.IncidentDeclareSerializer, request)
        try:
            incident = services.incident_declare(declared_by=request.user, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        return _incident_answer(request, incident, status.HTTP_201_CREATED)


class IncidentDetailView(APIView):
    @extend_schema(
        summary="One incident, with its current role holders",
        responses={200: s.IncidentSerializer, **_errors(404)},
    )
    def get(self, request, pk: int):
        return _incident_answer(request, visible_incident(request, pk))

    @extend_schema(
        summary="Edit the title or summary",
        request=s.IncidentEditSerializer,
        responses={200: s.IncidentSerializer, **_errors(400, 404)},
    )
    def patch(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = _validated(s.IncidentEditSerializer, request)
        try:
            services.incident_edit_details(
                incident=incident,
                by=request.user,
                title=data.get("title", incident.title),
                summary=data.get("summary", incident.summary),
            )
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        return _incident_answer(request, incident)


class IncidentStatusView(APIView):
    @extend_schema(
        summary="Change the status",
        description="409 with `detail` when the rules forbid the transition (e.g. a closed incident, "
        "or a major incident resolved without a verification step).",
        request=s.StatusChangeSerializer,
        responses={200: s.IncidentSerializer, **_errors(400, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = _validated(s.StatusChangeSerializer, request)
        services.incident_change_status(incident=incident, by=request.user, **data)
        return _incident_answer(request, incident)


class IncidentSeverityView(APIView):
    @extend_schema(
        summary="Change the severity",
        request=s.SeverityChangeSerializer,
        responses={200: s.IncidentSerializer, **_errors(400, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = _validated(s.SeverityChangeSerializer, request)
        services.incident_change_severity(incident=incident, by=request.user, **data)
        return _incident_answer(request, incident)


class IncidentReopenView(APIView):
    @extend_schema(
        summary="Reopen a resolved or declined incident",
        request=s.ReopenSerializer,
        responses={200: s.IncidentSerializer, **_errors(400, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = _validated(s.ReopenSerializer, request)
        services.incident_reopen(incident=incident, by=request.user, reason=data["reason"])
        return _incident_answer(request, incident)


# --- Timeline -------------------------------------------------------------------------------------


class TimelineView(generics.GenericAPIView):
    serializer_class = s.TimelineEntrySerializer

    @extend_schema(
        summary="Timeline entries, newest first",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.TimelineEntrySerializer(many=True), **_errors(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        qs = incident.timeline.select_related("author").order_by("-occurred_at", "-id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Add an entry (note, finding, action, TODO, change, hypothesis, decision, verification)",
        request=s.TimelineAddSerializer,
        responses={201: s.TimelineEntrySerializer, **_errors(400, 404)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = _validated(s.TimelineAddSerializer, request)
        try:
            entry = services.timeline_add(incident=incident, author=request.user, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        entry = TimelineEntry.objects.select_related("author").get(pk=entry.pk)
        return Response(s.TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


# --- Roles ------------------------------------------------------------------------------------------


class RolesView(APIView):
    @extend_schema(
        summary="Current and past role assignments",
        responses={200: s.RoleAssignmentSerializer(many=True), **_errors(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        assignments = incident.role_assignments.select_related("user", "assigned_by").order_by(
            "started_at", "pk"
        )
        return Response(s.RoleAssignmentSerializer(assignments, many=True).data)

    @extend_schema(
        summary="Assign a role",
        description="The current IC, the deputy and admins assign roles; anyone may take a role nobody "
        "holds. For a single-holder role the current holder hands over.",
        request=s.RoleAssignSerializer,
        responses={201: s.RoleAssignmentSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        from roles.services import role_assign

        incident = visible_incident(request, pk)
        data = _validated(s.RoleAssignSerializer, request)
        assignment = role_assign(incident=incident, by=request.user, **data)
        return Response(s.RoleAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class RoleReleaseView(APIView):
    @extend_schema(
        summary="Release a role assignment",
        request=s.RoleReleaseSerializer,
        responses={200: s.RoleAssignmentSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request, pk: int, assignment_id: int):
        from roles.services import role_release

        incident = visible_incident(request, pk)
        assignment = get_object_or_404(RoleAssignment, pk=assignment_id, incident=incident)
        data = _validated(s.RoleReleaseSerializer, request)
        assignment = role_release(assignment=assignment, by=request.user, **data)
        return Response(s.RoleAssignmentSerializer(assignment).data)


# --- Pages ------------------------------------------------------------------------------------------


class PagesView(APIView):
    @extend_schema(
        summary="Pages sent for the incident", responses={200: s.PageSerializer(many=True), **_errors(404)}
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        return Response(
            s.PageSerializer(roles_selectors.pages_for_incident(incident, limit=100), many=True).data
        )

    @extend_schema(
        summary="Page a person, a service's owners, an on-call schedule, or the on-call IC",
        request=s.PageSendSerializer,
        responses={201: s.PageSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        from roles.services import page_incident_commander, page_send

        incident = visible_incident(request, pk)
        data = _validated(s.PageSendSerializer, request)
        if data.get("incident_commander"):
            page = page_incident_commander(incident=incident, by=request.user, message=data["message"])
        else:
            page = page_send(
                incident=incident,
                by=request.user,
                message=data["message"],
                person=data.get("user"),
                service=data.get("service"),
                schedule=data.get("schedule"),
            )
        page = Page.objects.prefetch_related("notified").select_related("acknowledged_by").get(pk=page.pk)
        return Response(s.PageSerializer(page).data, status=status.HTTP_201_CREATED)


class PageAcknowledgeView(APIView):
    @extend_schema(
        summary="Acknowledge a page sent to you",
        request=None,
        responses={200: s.PageSerializer, **_errors(403, 404, 409)},
    )
    def post(self, request, page_id: int):
        from roles.services import page_acknowledge

        page = get_object_or_404(Page, pk=page_id, incident__in=incidents_visible_to(request.user))
        page = page_acknowledge(page=page, user=request.user)
        page = Page.objects.prefetch_related("notified").select_related("acknowledged_by").get(pk=page.pk)
        return Response(s.PageSerializer(page).data)


# --- Services and who is on call --------------------------------------------------------------------


class ServiceListView(generics.ListAPIView):
    serializer_class = s.ServiceSerializer
    queryset = Service.objects.select_related("primary_owner", "secondary_owner", "team").order_by("name")

    @extend_schema(summary="Services (areas of expertise) and their owners")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OnCallView(APIView):
    @extend_schema(
        summary="Who is on call now, per schedule, and who is next",
        responses={200: s.OnCallSerializer(many=True), **_errors()},
    )
    def get(self, request):
        return Response(s.OnCallSerializer(roles_selectors.oncall_overview(), many=True).data)


# --- Tokens -----------------------------------------------------------------------------------------


class TokenListView(APIView):
    @extend_schema(summary="Your API tokens", responses={200: s.ApiTokenSerializer(many=True), **_errors()})
    def get(self, request):
        return Response(s.ApiTokenSerializer(ApiToken.objects.filter(user=request.user), many=True).data)

    @extend_schema(
        summary="Create a token (the token is in this answer only)",
        request=s.ApiTokenCreateSerializer,
        responses={201: s.ApiTokenCreatedSerializer, **_errors(400)},
    )
    def post(self, request):
        data = _validated(s.ApiTokenCreateSerializer, request)
        try:
            row, token = api_token_issue(user=request.user, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        row.token = token
        return Response(s.ApiTokenCreatedSerializer(row).data, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    @extend_schema(
        summary="Revoke one of your tokens",
        request=None,
        responses={200: s.ApiTokenSerializer, **_errors(404, 409)},
    )
    def post(self, request, token_id: int):
        token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
        token = api_token_revoke(token=token, by=request.user)
        return Response(s.ApiTokenSerializer(token).data)


def require_staff(request) -> None:
    if not (request.user.is_staff or request.user.is_superuser):
        raise PermissionDenied("Only admins can do this.")


# --- Outgoing webhooks (admins) -----------------------------------------------------------------


class WebhookListView(APIView):
    @extend_schema(
        summary="Outgoing webhook subscriptions (admins)",
        responses={200: s.WebhookSerializer(many=True), **_errors(403)},
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
        responses={201: s.WebhookCreatedSerializer, **_errors(400, 403)},
    )
    def post(self, request):
        require_staff(request)
        data = _validated(s.WebhookCreateSerializer, request)
        try:
            subscription, secret = webhook_subscribe(by=request.user, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        subscription.secret = secret
        return Response(s.WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    @extend_schema(summary="Unsubscribe (admins)", responses={204: None, **_errors(403, 404, 409)})
    def delete(self, request, webhook_id: int):
        require_staff(request)
        subscription = get_object_or_404(OutgoingWebhook, pk=webhook_id)
        webhook_unsubscribe(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceAlertSettingsView(APIView):
    """How a service's alerts become incidents, and its integration key (admins)."""

    @extend_schema(
        summary="A service's alert settings and integration key (admins)",
        responses={200: s.AlertSettingsSerializer, **_errors(403, 404)},
    )
    def get(self, request, service_id: int):
        require_staff(request)
        service = get_object_or_404(Service, pk=service_id)
        return Response(s.AlertSettingsSerializer(alert_settings_for(service)).data)

    @extend_schema(
        summary="Change a service's alert settings (admins)",
        request=s.AlertSettingsSerializer,
        responses={200: s.AlertSettingsSerializer, **_errors(400, 403, 404)},
    )
    def put(self, request, service_id: int):
        require_staff(request)
        service = get_object_or_404(Service, pk=service_id)
        data = _validated(s.AlertSettingsSerializer, request)
        try:
            updated = alert_settings_update(service=service, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        return Response(s.AlertSettingsSerializer(updated).data)
