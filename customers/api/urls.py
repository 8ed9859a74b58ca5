from django.urls import path

from customers.api import views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="customer_list"),
    path("customers/import/", views.ImportView.as_view(), name="customer_import"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer_detail"),
    path("customers/<int:pk>/contacts/", views.ContactListView.as_view(), name="customer_contacts"),
    path(
        "customers/<int:pk>/contacts/<int:contact_id>/",
        views.ContactDetailView.as_view(),
        name="customer_contact_detail",
    ),
    path("incidents/<int:pk>/customers/", views.IncidentCustomersView.as_view(), name="incident_customers"),
    path(
        "incidents/<int:pk>/customers/updates/",
        views.DirectUpdateView.as_view(),
        name="incident_customer_updates",
    ),
    path("incidents/<int:pk>/customers/calls/", views.CallView.as_view(), name="incident_customer_calls"),
    path("incidents/<int:pk>/eta/", views.EtaView.as_view(), name="incident_eta"),
]
