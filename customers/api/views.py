"""The customers API: the same services as the admin and the room, the same rules.

Customer records: read by every active responder, written by admins with the customers
permission (400 with the reason when a record is refused). An incident's affected
customers, direct updates, calls and its ETA: the incident's visibility (a restricted one
is a 404 to outsiders) and customers.permissions (403 for who may not contact customers).
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from core.api.schema import error_responses, validated
from customers import permissions, selectors, services
from customers.api import serializers as s
from customers.models import Contact, Customer, DirectUpdate
from customers.services import CustomerError
from incidents.api.views import visible_incident
from incidents.services import incident_set_eta


def _may_read(request) -> None:
    if not permissions.may_read_customers(request.user):
        raise PermissionDenied("You may not read customer records.")


def _may_manage(request) -> None:
    if not permissions.may_manage_customers(request.user):
        raise PermissionDenied("Only admins with the customers permission change customer records.")


def _refused(error: CustomerError) -> Response:
    return error_response(status.HTTP_400_BAD_REQUEST, str(error), "invalid")


def _customer_answer(customer: Customer, code: int = status.HTTP_200_OK) -> Response:
    customer = selectors.customer_list().get(pk=customer.pk)
    return Response(s.CustomerSerializer(customer).data, status=code)


class CustomerListView(generics.ListAPIView):
    serializer_class = s.CustomerSerializer

    def get_queryset(self):
        _may_read(self.request)
        return selectors.customer_list()

    @extend_schema(
        summary="Customers, with their contacts, services and components (by name)",
        responses={200: s.CustomerSerializer(many=True), **error_responses(403)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a customer, with its contacts (admins)",
        request=s.CustomerWriteSerializer,
        responses={201: s.CustomerSerializer, **error_responses(400, 403)},
    )
    def post(self, request):
        _may_manage(request)
        data = validated(s.CustomerWriteSerializer, request)
        try:
            customer = services.customer_create(
                name=data["name"],
                services=data.get("services", []),
                components=data.get("components", []),
                notes=data.get("notes", ""),
                contacts=[dict(c) for c in data.get("contacts", [])],
            )
        except CustomerError as error:
            return _refused(error)
        return _customer_answer(customer, status.HTTP_201_CREATED)


class CustomerDetailView(APIView):
    @extend_schema(summary="A customer", responses={200: s.CustomerSerializer, **error_responses(403, 404)})
    def get(self, request, pk: int):
        _may_read(request)
        return _customer_answer(get_object_or_404(Customer, pk=pk))

    @extend_schema(
        summary="Change a customer's name, notes, services or components (admins)",
        request=s.CustomerPatchSerializer,
        responses={200: s.CustomerSerializer, **error_responses(400, 403, 404)},
    )
    def patch(self, request, pk: int):
        _may_manage(request)
        customer = get_object_or_404(Customer, pk=pk)
        data = validated(s.CustomerPatchSerializer, request)
        try:
            customer = services.customer_update(customer=customer, **data)
        except CustomerError as error:
            return _refused(error)
        return _customer_answer(customer)

    @extend_schema(summary="Remove a customer (admins)", responses={204: None, **error_responses(403, 404)})
    def delete(self, request, pk: int):
        _may_manage(request)
        services.customer_delete(customer=get_object_or_404(Customer, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactListView(APIView):
    @extend_schema(
        summary="Add a contact to a customer (admins)",
        request=s.ContactWriteSerializer,
        responses={201: s.ContactSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request, pk: int):
        _may_manage(request)
        customer = get_object_or_404(Customer, pk=pk)
        data = validated(s.ContactWriteSerializer, request)
        try:
            contact = services.contact_create(customer=customer, **data)
        except CustomerError as error:
            return _refused(error)
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class ContactDetailView(APIView):
    @extend_schema(
        summary="Change a contact (admins)",
        request=s.ContactPatchSerializer,
        responses={200: s.ContactSerializer, **error_responses(400, 403, 404)},
    )
    def patch(self, request, pk: int, contact_id: int):
        _may_manage(request)
        contact = get_object_or_404(Contact, pk=contact_id, customer_id=pk)
        data = validated(s.ContactPatchSerializer, request)
        try:
            contact = services.contact_update(contact=contact, **data)
        except CustomerError as error:
            return _refused(error)
        return Response(s.ContactSerializer(contact).data)

    @extend_schema(summary="Remove a contact (admins)", responses={204: None, **error_responses(403, 404)})
    def delete(self, request, pk: int, contact_id: int):
        _may_manage(request)
        services.contact_delete(contact=get_object_or_404(Contact, pk=contact_id, customer_id=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportView(APIView):
    @extend_schema(
        summary="Add or update customers and contacts from CSV: all of it, or nothing (admins)",
        request=s.ImportSerializer,
        responses={200: s.ImportResultSerializer, **error_responses(400, 403)},
    )
    def post(self, request):
        _may_manage(request)
        data = validated(s.ImportSerializer, request)
        try:
            result = services.customers_import_csv(text=data["csv"])
        except CustomerError as error:
            return _refused(error)
        return Response(s.ImportResultSerializer(result).data)


class IncidentCustomersView(APIView):
    @extend_schema(
        summary="The incident's affected customers: contacts, last update's deliveries, calls, follow-ups",
        responses={200: s.AffectedListSerializer, **error_responses(403, 404)},
    )
    def get(self, request, pk: int):
        _may_read(request)
        incident = visible_incident(request, pk)
        return Response(s.AffectedListSerializer(selectors.affected_customers(incident)).data)


class DirectUpdateView(APIView):
    @extend_schema(
        summary="Send a direct update to the affected customers (the customer liaison, IC, deputy, admins)",
        request=s.DirectUpdateCreateSerializer,
        responses={201: s.DirectUpdateSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.DirectUpdateCreateSerializer, request)
        update = services.direct_update_send(
            incident=incident,
            by=request.user,
            text=data["text"],
            subject=data["subject"],
            customer_ids=data.get("customers"),
            eta=data["eta"] if "eta" in data else services.KEEP,
            confirm_restricted=data["confirm_restricted"],
        )
        update = DirectUpdate.objects.get(pk=update.pk)
        return Response(s.DirectUpdateSerializer(update).data, status=status.HTTP_201_CREATED)


class CallView(APIView):
    @extend_schema(
        summary="Record a call to an affected customer, or why it is skipped",
        request=s.CallSerializer,
        responses={200: s.AffectedListSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.CallSerializer, request)
        customer = Customer.objects.filter(pk=data["customer"]).first()
        if customer is None:
            return error_response(status.HTTP_400_BAD_REQUEST, "There is no such customer.", "invalid")
        services.call_record(
            incident=incident, customer=customer, by=request.user, outcome=data["outcome"], note=data["note"]
        )
        return Response(s.AffectedListSerializer(selectors.affected_customers(incident)).data)


class EtaView(APIView):
    @extend_schema(
        summary="Set, move or clear the ETA to fix (on the timeline with the previous value)",
        request=s.EtaSerializer,
        responses={200: s.EtaSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        data = validated(s.EtaSerializer, request)
        with transaction.atomic():
            incident = incident_set_eta(
                incident=incident, by=request.user, eta=data["eta"], reason=data["reason"]
            )
        return Response({"eta": incident.eta, "reason": data["reason"]})
