"""An existing database keeps its alert groups, webhooks and tokens when they move out of incidents."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The state before the integrations and accounts apps existed.
BEFORE = [
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
    ("incidents", "0003_api_tokens_alert_groups_webhooks"),
    ("roles", "0005_override_rule_help"),
    ("comms", "0002_delivery_user_set_null"),
]
AFTER = [
    ("integrations", "0002_own_tables"),
    ("accounts", "0002_own_table"),
    ("incidents", "0004_models_moved_out"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest_state():
    yield
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_back_after_it(back_to_the_latest_state):
    old = _migrate(BEFORE)
    User = old.get_model("auth", "User")
    Incident = old.get_model("incidents", "Incident")
    Service = old.get_model("roles", "Service")
    Channel = old.get_model("comms", "Channel")
    person = User.objects.create(username="ann", email="ann@example.com")
    incident = Incident.objects.create(number=7, title="[Outage]: checkout", severity=2, revision=1)
    service = Service.objects.create(name="checkout", integration_key="k" * 32)
    old.get_model("incidents", "AlertSettings").objects.create(service=service, auto_resolve=True)
    old.get_model("incidents", "AlertGroup").objects.create(
        service=service, source="pagerduty", dedup_key="disk-full", incident=incident, event_count=3
    )
    channel = Channel.objects.create(
        name="Hook", slug="hook", kind="webhook", url="https://hooks.example.com/x", secret="s"
    )
    old.get_model("incidents", "OutgoingWebhook").objects.create(
        name="Mirror", channel=channel, events=["incident.declared"]
    )
    old.get_model("incidents", "ApiToken").objects.create(
        user=person, name="script", prefix="chk_abc", token_hash="h" * 64
    )
    ContentType = old.get_model("contenttypes", "ContentType")
    # As in a database from before the move: the models' content types are the incidents app's.
    ContentType.objects.filter(app_label__in=["integrations", "accounts"]).delete()
    ContentType.objects.get_or_create(app_label="incidents", model="alertgroup")

    new = _migrate(AFTER)

    group = new.get_model("integrations", "AlertGroup").objects.get()
    assert (group.dedup_key, group.event_count, group.incident_id) == ("disk-full", 3, incident.pk)
    assert new.get_model("integrations", "AlertSettings").objects.get().auto_resolve is True
    hook = new.get_model("integrations", "OutgoingWebhook").objects.get()
    assert (hook.name, hook.channel_id, hook.events) == ("Mirror", channel.pk, ["incident.declared"])
    token = new.get_model("accounts", "ApiToken").objects.get()
    assert (token.user_id, token.token_hash) == (person.pk, "h" * 64)
    tables = connection.introspection.table_names()
    assert "integrations_alertgroup" in tables and "incidents_alertgroup" not in tables
    assert "accounts_apitoken" in tables and "incidents_apitoken" not in tables
    content_types = new.get_model("contenttypes", "ContentType").objects
    assert content_types.filter(app_label="integrations", model="alertgroup").exists()
    assert not content_types.filter(app_label="incidents", model="alertgroup").exists()

    # The partial unique constraint came along: a second open group with the key is refused.
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        new.get_model("integrations", "AlertGroup").objects.create(
            service_id=service.pk, source="pagerduty", dedup_key="disk-full", incident_id=incident.pk
        )
