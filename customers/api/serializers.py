"""Shapes of the customers API: customers and contacts, an incident's affected customers, direct updates."""

from rest_framework import serializers

from customers.models import Contact, Customer
from roles.models import Service
from statuspage.models import Component


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "email", "alternate_email", "phone", "preferred_channel", "created_at"]
        read_only_fields = fields


class ContactWriteSerializer(serializers.Serializer):
    """Shape only; the service checks the meaning (another domain for the alternate address...)."""

    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    alternate_email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    preferred_channel = serializers.ChoiceField(
        choices=Contact.Channel.choices, required=False, default=Contact.Channel.EMAIL
    )


class ContactPatchSerializer(ContactWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    alternate_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    preferred_channel = serializers.ChoiceField(choices=Contact.Channel.choices, required=False)


class CustomerSerializer(serializers.ModelSerializer):
    services = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    components = serializers.SlugRelatedField(slug_field="public_id", many=True, read_only=True)
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "services", "components", "notes", "contacts", "created_at", "updated_at"]
        read_only_fields = fields


class CustomerWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    services = serializers.SlugRelatedField(
        slug_field="name",
        many=True,
        queryset=Service.objects.all(),
        required=False,
        help_text="Service names.",
    )
    components = serializers.SlugRelatedField(
        slug_field="public_id",
        many=True,
        queryset=Component.objects.filter(is_group=False),
        required=False,
        help_text="Component ids (as the status page's JSON names them).",
    )
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    contacts = ContactWriteSerializer(many=True, required=False)


class CustomerPatchSerializer(CustomerWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
    contacts = None


class ImportSerializer(serializers.Serializer):
    csv = serializers.CharField(
        max_length=1_000_000,
        trim_whitespace=False,
        help_text="The CSV text; the first line names the columns: customer, contact, email, "
        "alternate_email, "
        "phone, preferred_channel, services, components.",
    )


class ImportResultSerializer(serializers.Serializer):
    customers_created = serializers.IntegerField()
    customers_updated = serializers.IntegerField()
    contacts_created = serializers.IntegerField()
    contacts_updated = serializers.IntegerField()


class DeliverySerializer(serializers.Serializer):
    address = serializers.CharField()
    state = serializers.ChoiceField(choices=["sending", "delivered", "retrying", "failed"])
    error = serializers.CharField(allow_blank=True)


class AffectedSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer.pk")
    name = serializers.CharField(source="customer.name")
    derived = serializers.BooleanField(help_text="Uses one of the incident's services or components.")
    contacts = ContactSerializer(many=True)
    last_update_at = serializers.DateTimeField(allow_null=True)
    deliveries = serializers.SerializerMethodField()
    needs_call = serializers.BooleanField()
    call_state = serializers.CharField(source="row.call_state", default="", allow_blank=True)
    call_note = serializers.CharField(source="row.call_note", default="", allow_blank=True)
    called_at = serializers.DateTimeField(source="row.called_at", default=None, allow_null=True)
    follow_up = serializers.CharField(source="follow_up.state", default="", allow_blank=True)

    def get_deliveries(self, item) -> list[dict]:
        return DeliverySerializer(
            [{"address": a, "state": w, "error": e} for a, w, e in item.deliveries], many=True
        ).data


class AffectedListSerializer(serializers.Serializer):
    eta = serializers.DateTimeField(source="incident.eta", allow_null=True)
    call_due_since = serializers.DateTimeField(allow_null=True)
    affected = AffectedSerializer(source="active", many=True)
    removed = serializers.SerializerMethodField()

    def get_removed(self, listing) -> list[dict]:
        return [
            {"customer": item.customer.pk, "name": item.customer.name, "reason": item.row.removed_reason}
            for item in listing.removed
        ]


class DirectUpdateCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000, help_text="Placeholders: {customer}, {affected}, {eta}...")
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    customers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="Customer ids; leave out to send to every affected customer.",
    )
    eta = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Set (or with null, clear) the ETA to fix first."
    )
    confirm_restricted = serializers.BooleanField(
        required=False, default=False, help_text="Needed to tell customers about a security incident."
    )


class DirectUpdateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    sent_at = serializers.DateTimeField()
    status = serializers.CharField()
    eta = serializers.DateTimeField(allow_null=True)
    both_addresses = serializers.BooleanField()
    customers = serializers.SerializerMethodField()

    def get_customers(self, update) -> list[int]:
        return [cm.affected.customer_id for cm in update.customer_messages.select_related("affected")]


class EtaSerializer(serializers.Serializer):
    eta = serializers.DateTimeField(allow_null=True, help_text="The estimated time to fix; null clears it.")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CallSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    outcome = serializers.ChoiceField(choices=["called", "skipped"])
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
