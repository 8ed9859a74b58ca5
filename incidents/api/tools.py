"""The response tools in the API: /api/v1/incidents/<id>/hypotheses|decisions|changes|verifications|contacts/.

Same rules as the room: the services decide; a restricted incident is a 404 to
whoever may not see it; sensitive change values are masked for all but who
recorded them and admins.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from core.api.schema import error_responses, validated
from incidents.api import serializers as s
from incidents.api.views import incident_answer, visible_incident
from incidents.models import Change, Decision, Hypothesis, Incident
from incidents.services import tools

TOOL_ERRORS = error_responses(400, 403, 404, 409)


def _one_of(incident: Incident, model, pk: int | None, what: str):
    """A record of this incident named by id in a body, or a 400 that says which field."""
    if pk is None:
        return None
    found = model.objects.filter(incident=incident, pk=pk).first()
    if found is None:
        raise BadReference(what)
    return found


class BadReference(Exception):
    def __init__(self, field: str):
        self.field = field


def _refused(error: BadReference) -> Response:
    return error_response(
        400, f"No such {error.field} on this incident.", "invalid", {error.field: ["Not on this incident."]}
    )


def _ok(serializer_class, instance, request, code=status.HTTP_200_OK) -> Response:
    return Response(serializer_class(instance, context={"viewer": request.user}).data, status=code)


# --- Hypotheses ---------------------------------------------------------------------------------


class HypothesesView(APIView):
    @extend_schema(
        summary="Hypotheses, open ones first",
        responses={200: s.HypothesisSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        rows = sorted(
            incident.hypotheses.select_related("raised_by", "decided_by"), key=lambda h: not h.is_open
        )
        return Response(s.HypothesisSerializer(rows, many=True).data)

    @extend_schema(
        summary="Raise a hypothesis",
        request=s.HypothesisRaiseSerializer,
        responses={201: s.HypothesisSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.HypothesisRaiseSerializer, request)
        hypothesis = tools.hypothesis_raise(incident=incident, by=request.user, **data)
        return _ok(s.HypothesisSerializer, hypothesis, request, status.HTTP_201_CREATED)


class HypothesisDecideView(APIView):
    @extend_schema(
        summary="Confirm or rule out a hypothesis, with the evidence",
        request=s.HypothesisDecideSerializer,
        responses={200: s.HypothesisSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int, hypothesis_id: int):
        incident = visible_incident(request, pk)
        hypothesis = get_object_or_404(Hypothesis, pk=hypothesis_id, incident=incident)
        data = validated(s.HypothesisDecideSerializer, request)
        try:
            entry = _one_of(incident, incident.timeline.model, data.pop("evidence_entry"), "evidence_entry")
        except BadReference as error:
            return _refused(error)
        hypothesis = tools.hypothesis_decide(
            hypothesis=hypothesis, by=request.user, evidence_entry=entry, **data
        )
        return _ok(s.HypothesisSerializer, hypothesis, request)


# --- Decisions ----------------------------------------------------------------------------------


class DecisionsView(APIView):
    @extend_schema(
        summary="Decisions (fix, patch, workaround, rollback)",
        responses={200: s.DecisionSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        return Response(s.DecisionSerializer(incident.decisions.select_related("decided_by"), many=True).data)

    @extend_schema(
        summary="Record a decision",
        request=s.DecisionRecordSerializer,
        responses={201: s.DecisionSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.DecisionRecordSerializer, request)
        try:
            hypothesis = _one_of(incident, Hypothesis, data.pop("hypothesis"), "hypothesis")
        except BadReference as error:
            return _refused(error)
        decision = tools.decision_record(incident=incident, by=request.user, hypothesis=hypothesis, **data)
        return _ok(s.DecisionSerializer, decision, request, status.HTTP_201_CREATED)


class DecisionCloseView(APIView):
    @extend_schema(
        summary="A decision is done or abandoned",
        request=s.DecisionCloseSerializer,
        responses={200: s.DecisionSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int, decision_id: int):
        incident = visible_incident(request, pk)
        decision = get_object_or_404(Decision, pk=decision_id, incident=incident)
        data = validated(s.DecisionCloseSerializer, request)
        return _ok(
            s.DecisionSerializer, tools.decision_close(decision=decision, by=request.user, **data), request
        )


# --- Changes ------------------------------------------------------------------------------------


class ChangesView(APIView):
    @extend_schema(
        summary="Changes made, with their old values (sensitive ones masked)",
        responses={200: s.ChangeSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        rows = incident.changes.select_related("recorded_by", "settled_by")
        return Response(s.ChangeSerializer(rows, many=True, context={"viewer": request.user}).data)

    @extend_schema(
        summary="Record a change and its old value",
        request=s.ChangeRecordSerializer,
        responses={201: s.ChangeSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.ChangeRecordSerializer, request)
        try:
            hypothesis = _one_of(incident, Hypothesis, data.pop("hypothesis"), "hypothesis")
            decision = _one_of(incident, Decision, data.pop("decision"), "decision")
        except BadReference as error:
            return _refused(error)
        change = tools.change_record(
            incident=incident, by=request.user, hypothesis=hypothesis, decision=decision, **data
        )
        return _ok(s.ChangeSerializer, change, request, status.HTTP_201_CREATED)


class ChangeRestoreView(APIView):
    @extend_schema(
        summary="Restore a change (the restore is a change of its own)",
        request=s.NoteSerializer,
        responses={201: s.ChangeSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int, change_id: int):
        incident = visible_incident(request, pk)
        change = get_object_or_404(Change, pk=change_id, incident=incident)
        data = validated(s.NoteSerializer, request)
        restore = tools.change_restore(change=change, by=request.user, **data)
        return _ok(s.ChangeSerializer, restore, request, status.HTTP_201_CREATED)


class ChangeKeepView(APIView):
    @extend_schema(
        summary="Keep a change as the new normal",
        request=s.NoteSerializer,
        responses={200: s.ChangeSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int, change_id: int):
        incident = visible_incident(request, pk)
        change = get_object_or_404(Change, pk=change_id, incident=incident)
        data = validated(s.NoteSerializer, request)
        return _ok(s.ChangeSerializer, tools.change_keep(change=change, by=request.user, **data), request)


# --- Verification, the rollback question, where to join --------------------------------------------


class VerificationsView(APIView):
    @extend_schema(
        summary="Verification steps",
        responses={200: s.VerificationSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, pk: int):
        incident = visible_incident(request, pk)
        return Response(
            s.VerificationSerializer(incident.verifications.select_related("checked_by"), many=True).data
        )

    @extend_schema(
        summary="Record what was checked before the all-clear",
        request=s.VerificationRecordSerializer,
        responses={201: s.VerificationSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.VerificationRecordSerializer, request)
        verification = tools.verification_record(incident=incident, by=request.user, **data)
        return _ok(s.VerificationSerializer, verification, request, status.HTTP_201_CREATED)


class RollbackAnswerView(APIView):
    @extend_schema(
        summary="Answer the rollback question",
        request=s.RollbackAnswerSerializer,
        responses={200: s.IncidentSerializer, **TOOL_ERRORS},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.RollbackAnswerSerializer, request)
        tools.rollback_question_answer(incident=incident, by=request.user, **data)
        return incident_answer(request, incident)


class ContactsView(APIView):
    @extend_schema(
        summary="Where to join: bridge, chat, dashboards, runbooks",
        responses={200: s.ContactsSerializer, **error_responses(404)},
    )
    def get(self, request, pk: int):
        return Response(s.ContactsSerializer(visible_incident(request, pk)).data)

    @extend_schema(
        summary="Set where to join (the previous links are kept on the timeline)",
        request=s.ContactsSerializer,
        responses={200: s.ContactsSerializer, **TOOL_ERRORS},
    )
    def put(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.ContactsSerializer, request)
        incident = tools.incident_set_contacts(incident=incident, by=request.user, **data)
        return Response(s.ContactsSerializer(incident).data)
