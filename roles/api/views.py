"""The roles API: role assignments, pages, services and who is on call."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import error_responses, validated
from incidents.api.views import visible_incident
from incidents.selectors import incidents_visible_to
from roles import selectors as roles_selectors
from roles.api import serializers as s
from roles.models import Page, RoleAssignment, Service
from roles.services import page_acknowledge, page_incident_commander, page_send, role_assign, role_release

# --- Roles ------------------------------------------------------------------------------------------


class RolesView(APIView):
    @extend_schema(
        summary="Current and past role assignments",
        responses={200: s.RoleAssignmentSerializer(many=True), **error_responses(404)},
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
        responses={201: s.RoleAssignmentSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.RoleAssignSerializer, request)
        assignment = role_assign(incident=incident, by=request.user, **data)
        return Response(s.RoleAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class RoleReleaseView(APIView):
    @extend_schema(
        summary="Release a role assignment",
        request=s.RoleReleaseSerializer,
        responses={200: s.RoleAssignmentSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int, assignment_id: int):
        incident = visible_incident(request, pk)
        assignment = get_object_or_404(RoleAssignment, pk=assignment_id, incident=incident)
        data = validated(s.RoleReleaseSerializer, request)
        assignment = role_release(assignment=assignment, by=request.user, **data)
        return Response(s.RoleAssignmentSerializer(assignment).data)


# --- Pages ------------------------------------------------------------------------------------------


class PagesView(APIView):
    @extend_schema(
        summary="Pages sent for the incident",
        responses={200: s.PageSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        return Response(
            s.PageSerializer(roles_selectors.pages_for_incident(incident, limit=100), many=True).data
        )

    @extend_schema(
        summary="Page a person, a service's owners, an on-call schedule, or the on-call IC",
        request=s.PageSendSerializer,
        responses={201: s.PageSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.PageSendSerializer, request)
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
        responses={200: s.PageSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request, page_id: int):
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
        responses={200: s.OnCallSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        return Response(s.OnCallSerializer(roles_selectors.oncall_overview(), many=True).data)
