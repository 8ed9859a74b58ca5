"""Every change to what the public sees goes through here.

Each service checks the change, writes it (and, for incidents, the timeline entry
through incidents.services.timeline_record) in one transaction, and on commit
refreshes the public documents and hands notifications to Celery.

One module per subdomain; import from here (`from statuspage.services import ...`):

- updates: public updates from the incident room, component statuses set by hand
- maintenance: scheduled maintenance and its windows
- subscribers: subscriptions, and the fan-out of each update to subscribers
- tick: the beat's minute (maintenance on time, lost fan-outs, a fresh page)
- common: StatuspageError, text limits, what follows a change on commit
"""

from statuspage.services.common import (
    MAX_BODY,
    MAX_TITLE,
    StatuspageError,
    enqueue_fan_out,
    public_changed,
    record_component_status,
)
from statuspage.services.maintenance import (
    MAINTENANCE_DEFAULT_BODIES,
    MAINTENANCE_TRANSITIONS,
    maintenance_post_update,
    maintenance_schedule,
    maintenance_tick,
)
from statuspage.services.subscribers import (
    confirmation_send,
    fan_outs_resend_lost,
    subscriber_confirm,
    subscriber_subscribe,
    subscriber_unsubscribe,
    update_fan_out,
)
from statuspage.services.tick import statuspage_tick
from statuspage.services.updates import (
    ComponentChange,
    UpdatePlan,
    component_change_status,
    statuspage_check_update,
    statuspage_publish_postmortem,
    statuspage_publish_update,
)

__all__ = [
    "MAINTENANCE_DEFAULT_BODIES",
    "MAINTENANCE_TRANSITIONS",
    "MAX_BODY",
    "MAX_TITLE",
    "ComponentChange",
    "StatuspageError",
    "UpdatePlan",
    "component_change_status",
    "confirmation_send",
    "enqueue_fan_out",
    "fan_outs_resend_lost",
    "maintenance_post_update",
    "maintenance_schedule",
    "maintenance_tick",
    "public_changed",
    "record_component_status",
    "statuspage_check_update",
    "statuspage_publish_postmortem",
    "statuspage_publish_update",
    "statuspage_tick",
    "subscriber_confirm",
    "subscriber_subscribe",
    "subscriber_unsubscribe",
    "update_fan_out",
]
