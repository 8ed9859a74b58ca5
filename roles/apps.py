from django.apps import AppConfig


class RolesConfig(AppConfig):
    name = "roles"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from django.contrib.auth.signals import user_logged_in

        from comms import permissions as comms_permissions
        from incidents import hooks
        from roles import permissions
        from roles.api.serializers import RoleAssignmentSerializer
        from roles.selectors import current_role_holders, open_workstreams
        from roles.services.major import incident_became_major
        from roles.viewer_zone import on_sign_in

        # incidents and comms sit below roles: they learn of role holders and of
        # who commands which incident through these registrations.
        hooks.provide_role_holders(current_role_holders, serializer=RoleAssignmentSerializer)
        hooks.provide_decision_rule(permissions.decides)
        hooks.on_becoming_major(incident_became_major)
        hooks.provide_workstreams(open_workstreams)
        comms_permissions.register_subject_rules(commanded=permissions.commanded_incidents)
        # Pages show times in the person's own zone: read once at sign-in (roles/viewer_zone.py).
        user_logged_in.connect(on_sign_in, dispatch_uid="roles.viewer_zone")
