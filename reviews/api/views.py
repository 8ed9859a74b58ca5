"""The reviews API: same services, same visibility (a restricted incident is a 404 to outsiders)."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from core.api.schema import error_responses, validated
from incidents.selectors import incidents_visible_to
from reviews import insights as ins
from reviews import selectors, services
from reviews.api import serializers as s
from reviews.export import factor_tree, review_markdown
from reviews.models import FollowUp, Review
from reviews.record import review_record


def _visible_incident(request, pk: int):
    return get_object_or_404(incidents_visible_to(request.user), pk=pk)


def _review(request, pk: int) -> Review:
    incident = _visible_incident(request, pk)
    review = get_object_or_404(Review.objects.select_related("owner"), incident=incident)
    review.incident = incident
    return review


def _review_answer(review: Review, code: int = status.HTTP_200_OK) -> Response:
    review = Review.objects.select_related("owner", "incident").get(pk=review.pk)
    record = (
        review.published_record
        if review.is_published and review.published_record
        else review_record(review.incident, review)
    )
    data = s.ReviewSerializer(review, context={"record": record, "factors": factor_tree(review)}).data
    return Response(data, status=code)


class ReviewView(APIView):
    @extend_schema(
        summary="The incident's post-incident review, with what it pre-fills from the record",
        responses={200: s.ReviewSerializer, **error_responses(404)},
    )
    def get(self, request, pk: int):
        return _review_answer(_review(request, pk))

    @extend_schema(
        summary="Start the review of a resolved incident (SEV-1/2 get one when resolved)",
        request=s.ReviewStartSerializer,
        responses={201: s.ReviewSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = _visible_incident(request, pk)
        data = validated(s.ReviewStartSerializer, request)
        review = services.review_start(incident=incident, by=request.user, owner=data.get("owner"))
        return _review_answer(review, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Write sections and contributing factors (each edit keeps the previous text), "
        "change owner or due date",
        request=s.ReviewWriteSerializer,
        responses={200: s.ReviewSerializer, **error_responses(400, 404, 409)},
    )
    def patch(self, request, pk: int):
        review = _review(request, pk)
        serializer = s.ReviewWriteSerializer(data=request.data, context={"review": review})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        sections = {name: data.pop(name) for name in list(data) if name in Review.SECTIONS}
        factors = data.pop("contributing_factors", None)
        # One change: a part the services refuse leaves the others unwritten too.
        with transaction.atomic():
            if sections:
                review = services.review_write(review=review, by=request.user, sections=sections)
            if factors:
                services.factors_write(review=review, by=request.user, changes=factors)
            if data:
                review = services.review_steer(review=review, by=request.user, **data)
        return _review_answer(review)


class ReviewStateView(APIView):
    @extend_schema(
        summary="Move the review: draft, in_review, or published (read-only afterwards)",
        request=s.ReviewStateSerializer,
        responses={200: s.ReviewSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request, pk: int):
        review = _review(request, pk)
        data = validated(s.ReviewStateSerializer, request)
        if data["state"] == Review.State.PUBLISHED:
            review = services.review_publish(
                review=review, by=request.user, public_postmortem=data.get("public_postmortem", "")
            )
        else:
            review = services.review_set_state(review=review, by=request.user, state=data["state"])
        return _review_answer(review)


class ReviewExportView(APIView):
    @extend_schema(
        summary="The review as Markdown (the same file as the page's export)",
        responses={200: s.ReviewExportSerializer, **error_responses(404)},
    )
    def get(self, request, pk: int):
        review = _review(request, pk)
        incident = review.incident
        record = (
            review.published_record
            if review.is_published and review.published_record
            else review_record(incident, review)
        )
        text = review_markdown(review, record, selectors.incident_follow_ups(incident))
        return Response({"filename": f"{incident.reference}-review.md", "markdown": text})


def _int(value: str | None, name: str):
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise ValueError(name)
    return int(value)


class FollowUpListView(generics.GenericAPIView):
    serializer_class = s.FollowUpSerializer

    @extend_schema(
        summary="Follow-ups you can see",
        parameters=[
            OpenApiParameter("view", str, enum=list(selectors.FOLLOW_UP_VIEWS), description="Default: all"),
            OpenApiParameter("state", str, description="open (open + in progress), closed, or a state"),
            OpenApiParameter("incident", int, description="The incident's number"),
            OpenApiParameter("service", int, description="A service id"),
            OpenApiParameter("priority", int),
            OpenApiParameter("sort", str, enum=list(selectors.FOLLOW_UP_SORTS)),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: s.FollowUpSerializer(many=True), **error_responses(400)},
    )
    def get(self, request):
        params = request.query_params
        view = params.get("view", "all")
        state = params.get("state", "")
        if view not in selectors.FOLLOW_UP_VIEWS:
            return error_response(
                400, "view is mine, team, overdue or all.", "invalid", {"view": ["Unknown."]}
            )
        if state not in ("", "open", "closed", *FollowUp.State.values):
            return error_response(400, "Unknown state.", "invalid", {"state": ["Unknown."]})
        try:
            filters = selectors.FollowUpFilters(
                view=view,
                state=state,
                incident=_int(params.get("incident"), "incident"),
                service=_int(params.get("service"), "service"),
                priority=_int(params.get("priority"), "priority"),
                sort=params.get("sort", "due")
                if params.get("sort", "due") in selectors.FOLLOW_UP_SORTS
                else "due",
            )
        except ValueError as error:
            return error_response(400, f"{error} must be a number.", "invalid", {str(error): ["A number."]})
        qs = selectors.follow_up_list(user=request.user, filters=filters).select_related("incident", "owner")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Add a follow-up to an incident",
        request=s.FollowUpCreateSerializer,
        responses={201: s.FollowUpSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request):
        data = validated(s.FollowUpCreateSerializer, request)
        incident = _visible_incident(request, data.pop("incident"))
        follow_up = services.follow_up_create(
            incident=incident, by=request.user, source=FollowUp.Source.API, **data
        )
        return Response(s.FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)


class FollowUpDetailView(APIView):
    @extend_schema(summary="One follow-up", responses={200: s.FollowUpSerializer, **error_responses(404)})
    def get(self, request, pk: int):
        return Response(s.FollowUpSerializer(selectors.follow_up_get(user=request.user, pk=pk)).data)

    @extend_schema(
        summary="Change a follow-up (won't do needs wont_do_reason)",
        request=s.FollowUpUpdateSerializer,
        responses={200: s.FollowUpSerializer, **error_responses(400, 404, 409)},
    )
    def patch(self, request, pk: int):
        follow_up = selectors.follow_up_get(user=request.user, pk=pk)
        data = validated(s.FollowUpUpdateSerializer, request)
        state = data.pop("state", None)
        reason = data.pop("wont_do_reason", "")
        follow_up = services.follow_up_update(
            follow_up=follow_up, by=request.user, state=state, wont_do_reason=reason, **data
        )
        return Response(s.FollowUpSerializer(follow_up).data)


class InsightsView(APIView):
    @extend_schema(
        summary="The numbers behind the insights charts (durations in seconds)",
        parameters=[OpenApiParameter("days", int, enum=list(ins.WINDOWS), description="Default 90")],
        responses={200: s.InsightsSerializer, **error_responses(400)},
    )
    def get(self, request):
        days = request.query_params.get("days", str(ins.DEFAULT_WINDOW))
        if days not in {str(w) for w in ins.WINDOWS}:
            return error_response(400, "days is 30, 90 or 365.", "invalid", {"days": ["30, 90 or 365."]})
        data = ins.insights(user=request.user, days=int(days))
        payload = {
            "days": data.days,
            "since": data.since,
            "until": data.until,
            "incident_count": data.incident_count,
            "weeks": [{**w, "counts": {str(k): v for k, v in w["counts"].items()}} for w in data.weeks],
            "by_severity": [
                {**r, "clocks": {k: vars(v) for k, v in r["clocks"].items()}} for r in data.by_severity
            ],
            "by_service": [
                {**r, "clocks": {k: vars(v) for k, v in r["clocks"].items()}} for r in data.by_service
            ],
            "pages_by_person": data.pages_by_person,
            "follow_ups": data.follow_ups,
            "reviews": data.reviews,
        }
        return Response(s.InsightsSerializer(payload).data)
