"""The roles API: role assignments, pages, services and who is on call."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from core.api.schema import error_responses, validated
from incidents.api.views import visible_incident
from incidents.selectors import incidents_visible_to
from roles import selectors as roles_selectors
from roles.api import serializers as s
from roles.models import Page, Proposal, RoleAssignment, Service, Task
from roles.services import (
    page_acknowledge,
    page_incident_commander,
    page_send,
    proposal_approve,
    proposal_make,
    proposal_reject,
    role_assign,
    role_release,
    task_assign,
    task_move,
)

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


# --- Command and control: proposals and tasks ------------------------------------------------------


class ProposalsView(APIView):
    @extend_schema(
        summary="Proposals to the Incident Commander",
        responses={200: s.ProposalSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        rows = incident.proposals.select_related("proposed_by", "decided_by").order_by("proposed_at", "pk")
        return Response(s.ProposalSerializer(rows, many=True).data)

    @extend_schema(
        summary="Propose a status, severity or repair decision to the IC",
        description="While an Incident Commander is assigned, status and severity changes and the repair "
        "decision are the IC's and the deputy's: everyone else proposes them here (the direct "
        "endpoints answer 403).",
        request=s.ProposalMakeSerializer,
        responses={201: s.ProposalSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        serializer = s.ProposalMakeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workstream = None
        if serializer.validated_data["workstream"] is not None:
            workstream = incident.workstreams.filter(
                pk=serializer.validated_data["workstream"], closed_at__isnull=True
            ).first()
            if workstream is None:
                return error_response(
                    400, "No such open workstream here.", "invalid", {"workstream": ["Unknown."]}
                )
        proposal = proposal_make(
            incident=incident,
            by=request.user,
            action=serializer.validated_data["action"],
            payload=serializer.payload(),
            reason=serializer.validated_data["reason"],
            workstream=workstream,
        )
        return Response(s.ProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)


class ProposalAnswerView(APIView):
    verdict = "approve"

    @extend_schema(
        summary="Approve (and do) or reject a proposal (the IC or the deputy; a workstream's lead "
        "for its task proposals)",
        request=s.ProposalAnswerSerializer,
        responses={200: s.ProposalSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int, proposal_id: int):
        incident = visible_incident(request, pk)
        proposal = get_object_or_404(Proposal, pk=proposal_id, incident=incident)
        answer = validated(s.ProposalAnswerSerializer, request)["answer"]
        if self.verdict == "approve":
            proposal = proposal_approve(proposal=proposal, by=request.user, note=answer)
        else:
            proposal = proposal_reject(proposal=proposal, by=request.user, reason=answer)
        return Response(s.ProposalSerializer(proposal).data)


class TasksView(APIView):
    @extend_schema(
        summary="Tasks of the incident", responses={200: s.TaskSerializer(many=True), **error_responses(404)}
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        return Response(s.TaskSerializer(incident.tasks.select_related("assignee"), many=True).data)

    @extend_schema(
        summary="Assign a task (the IC, the deputy, or a workstream's lead inside it)",
        request=s.TaskAssignSerializer,
        responses={201: s.TaskSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.TaskAssignSerializer, request)
        workstream = None
        if data["workstream"] is not None:
            workstream = incident.workstreams.filter(pk=data["workstream"], closed_at__isnull=True).first()
            if workstream is None:
                return error_response(
                    400, "No such open workstream here.", "invalid", {"workstream": ["Unknown."]}
                )
        task = task_assign(
            incident=incident,
            by=request.user,
            title=data["title"],
            assignee=data["assignee"],
            due_at=data["due_at"],
            workstream=workstream,
        )
        return Response(s.TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskMoveView(APIView):
    @extend_schema(
        summary="Move a task: open, doing, done or dropped",
        request=s.TaskMoveSerializer,
        responses={200: s.TaskSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int, task_id: int):
        incident = visible_incident(request, pk)
        task = get_object_or_404(Task, pk=task_id, incident=incident)
        data = validated(s.TaskMoveSerializer, request)
        return Response(s.TaskSerializer(task_move(task=task, by=request.user, state=data["state"])).data)
