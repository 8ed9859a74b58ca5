"""The incidents API: look up through the visibility selector, validate the shape, call the service.

A restricted incident a person may not see answers 404 on every endpoint, as if
it did not exist.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from core.api.schema import error_responses, validated
from incidents import hooks, services
from incidents.api import serializers as s
from incidents.models import Incident, TimelineEntry
from incidents.selectors import IncidentFilters, incident_list, incidents_visible_to
from incidents.services import IncidentError
from incidents.services.lifecycle import ChangesInPlace


def visible_incident(request, pk: int) -> Incident:
    """The incident if this person may see it; a 404 otherwise, restricted or not."""
    return get_object_or_404(incidents_visible_to(request.user), pk=pk)


def with_roles(incidents: list[Incident]) -> list[Incident]:
    """Attach each incident's current role holders (one read for the whole page)."""
    holders = hooks.role_holders(incident.pk for incident in incidents)
    for incident in incidents:
        incident.current_roles = holders.get(incident.pk, [])
    return incidents


def incident_answer(request, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
    incident = Incident.objects.select_related("declared_by").get(pk=incident.pk)
    with_roles([incident])
    return Response(s.IncidentSerializer(incident, context={"request": request}).data, status=code)


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
        responses={200: s.IncidentSerializer(many=True), **error_responses(400)},
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
            # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
            if not (severity.isascii() and severity.isdigit()) or not 1 <= int(severity) <= 5:
                return error_response(400, "severity is 1 to 5.", "invalid", {"severity": ["1 to 5."]})
            severity = int(severity)
        filters = IncidentFilters(
            q=request.query_params.get("q", "")[:200], status=status_filter, severity=severity
        )
        qs = incident_list(user=request.user, filters=filters).select_related("declared_by")
        page = with_roles(list(self.paginate_queryset(qs)))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Declare an incident",
        request=s.IncidentDeclareSerializer,
        responses={201: s.IncidentSerializer, **error_responses(400)},
    )
    def post(self, request):
        data = validated(s.IncidentDeclareSerializer, request)
        try:
            incident = services.incident_declare(declared_by=request.user, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        return incident_answer(request, incident, status.HTTP_201_CREATED)


class IncidentDetailView(APIView):
    @extend_schema(
        summary="One incident, with its current role holders",
        responses={200: s.IncidentSerializer, **error_responses(404)},
    )
    def get(self, request, pk: int):
        return incident_answer(request, visible_incident(request, pk))

    @extend_schema(
        summary="Edit the title or summary",
        request=s.IncidentEditSerializer,
        responses={200: s.IncidentSerializer, **error_responses(400, 404)},
    )
    def patch(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.IncidentEditSerializer, request)
        try:
            services.incident_edit_details(
                incident=incident,
                by=request.user,
                title=data.get("title", incident.title),
                summary=data.get("summary", incident.summary),
            )
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        return incident_answer(request, incident)


class IncidentStatusView(APIView):
    @extend_schema(
        summary="Change the status",
        description="409 with `detail` when the rules forbid the transition (e.g. a closed incident, "
        "or a major incident resolved without a verification step). Resolving a major incident with "
        "changes still in place is a 409 with code `changes_in_place` and the changes in "
        "`errors.settle_changes`: send `settle_changes` {id: keep|restore} for each.",
        request=s.StatusChangeSerializer,
        responses={200: s.IncidentSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.StatusChangeSerializer, request)
        try:
            services.incident_change_status(incident=incident, by=request.user, **data)
        except ChangesInPlace as asked:
            # Resolving a major incident: say which changes need a keep or a restore.
            pending = [f"{c.pk}: {c.what} ({c.where})" for c in asked.changes]
            return error_response(409, str(asked), "changes_in_place", {"settle_changes": pending})
        return incident_answer(request, incident)


class IncidentSeverityView(APIView):
    @extend_schema(
        summary="Change the severity",
        request=s.SeverityChangeSerializer,
        responses={200: s.IncidentSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.SeverityChangeSerializer, request)
        services.incident_change_severity(incident=incident, by=request.user, **data)
        return incident_answer(request, incident)


class IncidentReopenView(APIView):
    @extend_schema(
        summary="Reopen a resolved or declined incident",
        request=s.ReopenSerializer,
        responses={200: s.IncidentSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.ReopenSerializer, request)
        services.incident_reopen(incident=incident, by=request.user, reason=data["reason"])
        return incident_answer(request, incident)


# --- Timeline -------------------------------------------------------------------------------------


class TimelineView(generics.GenericAPIView):
    serializer_class = s.TimelineEntrySerializer

    @extend_schema(
        summary="Timeline entries, newest first",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.TimelineEntrySerializer(many=True), **error_responses(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        qs = incident.timeline.select_related("author").order_by("-occurred_at", "-id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Add an entry (note, finding, action, TODO, change, hypothesis, decision, verification)",
        request=s.TimelineAddSerializer,
        responses={201: s.TimelineEntrySerializer, **error_responses(400, 404)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.TimelineAddSerializer, request)
        try:
            entry = services.timeline_add(incident=incident, author=request.user, **data)
        except IncidentError as error:
            return error_response(400, str(error), "invalid")
        entry = TimelineEntry.objects.select_related("author").get(pk=entry.pk)
        return Response(s.TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
