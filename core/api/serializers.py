"""Shapes every app's API shares: a person, and the error body."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

User = get_user_model()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    username = serializers.CharField(source="get_username", read_only=True)
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(read_only=True)

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class PersonField(serializers.Field):
    """A person by id, e-mail address or username."""

    default_error_messages = {"unknown": "No active person with the id, e-mail or username {value!r}."}

    def to_internal_value(self, data):
        if (
            isinstance(data, bool)
            or not isinstance(data, (int, str))
            or (isinstance(data, str) and not data.strip())
        ):
            raise serializers.ValidationError("Give a person's id, e-mail address or username.")
        people = User.objects.filter(is_active=True)
        if isinstance(data, int) or (data.strip().isascii() and data.strip().isdigit()):
            person = people.filter(pk=int(data)).first()
        else:
            value = data.strip()
            person = people.filter(Q(email__iexact=value) | Q(username=value)).order_by("pk").first()
        if person is None:
            self.fail("unknown", value=data)
        return person

    def to_representation(self, value):
        return value.pk


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "id, e-mail or username"}
)
class PersonRefField(PersonField):
    pass
