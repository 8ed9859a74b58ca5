from collections import defaultdict
from collections.abc import Iterable

from roles.models import IncidentRole, RoleAssignment


def current_role_holders(incident_ids: Iterable[int]) -> dict[int, list[RoleAssignment]]:
    """Current holders for many incidents in one query, in the order roles are listed."""
    order = {role: i for i, role in enumerate(IncidentRole.values)}
    holders: dict[int, list[RoleAssignment]] = defaultdict(list)
    assignments = RoleAssignment.objects.filter(
        incident_id__in=list(incident_ids), ended_at__isnull=True
    ).select_related("user")
    for assignment in sorted(assignments, key=lambda a: (order[a.role], a.started_at)):
        holders[assignment.incident_id].append(assignment)
    return holders
