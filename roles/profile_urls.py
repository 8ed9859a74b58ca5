from django.urls import path

from roles import profile_views as views

urlpatterns = [
    path("", views.profile, name="profile"),
    path("contact-methods/", views.contact_method_add, name="contact_method_add"),
    path(
        "contact-methods/<int:method_id>/remove/", views.contact_method_remove, name="contact_method_remove"
    ),
    path("contact-methods/<int:method_id>/test/", views.contact_method_test, name="contact_method_test"),
    path("tests/<int:delivery_id>/", views.contact_method_test_result, name="contact_method_test_result"),
    path("rules/", views.rule_add, name="notification_rule_add"),
    path("rules/<int:rule_id>/remove/", views.rule_remove, name="notification_rule_remove"),
]
