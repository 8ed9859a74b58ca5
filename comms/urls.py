from django.urls import path

from comms import views

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.notifications_bell, name="notifications_bell"),
    path("notifications/events/", views.notifications_events, name="notifications_events"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:message_id>/", views.outbox_message, name="outbox_message"),
    path("outbox/deliveries/<int:delivery_id>/resend/", views.delivery_resend, name="delivery_resend"),
]
