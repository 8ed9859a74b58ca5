"""The tokens API: a person's own API tokens."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.models import ApiToken
from accounts.services import AccountError, api_token_issue, api_token_revoke
from core.api.errors import error_response
from core.api.schema import error_responses, validated

# --- Tokens -----------------------------------------------------------------------------------------


class TokenListView(APIView):
    @extend_schema(
        summary="Your API tokens", responses={200: s.ApiTokenSerializer(many=True), **error_responses()}
    )
    def get(self, request):
        return Response(s.ApiTokenSerializer(ApiToken.objects.filter(user=request.user), many=True).data)

    @extend_schema(
        summary="Create a token (the token is in this answer only)",
        request=s.ApiTokenCreateSerializer,
        responses={201: s.ApiTokenCreatedSerializer, **error_responses(400)},
    )
    def post(self, request):
        data = validated(s.ApiTokenCreateSerializer, request)
        try:
            row, token = api_token_issue(user=request.user, **data)
        except AccountError as error:
            return error_response(400, str(error), "invalid")
        row.token = token
        return Response(s.ApiTokenCreatedSerializer(row).data, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    @extend_schema(
        summary="Revoke one of your tokens",
        request=None,
        responses={200: s.ApiTokenSerializer, **error_responses(404, 409)},
    )
    def post(self, request, token_id: int):
        token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
        token = api_token_revoke(token=token, by=request.user)
        return Response(s.ApiTokenSerializer(token).data)
