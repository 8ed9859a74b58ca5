"""Helpers for data migrations shared by several apps."""


def move_content_types(from_app: str, to_app: str, models: list[str]):
    """A RunPython function: the moved models' content types (and so their permissions
    and admin history) follow them to their new app."""

    def forwards(apps, schema_editor) -> None:
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        for model in models:
            if ContentType.objects.using(db).filter(app_label=to_app, model=model).exists():
                continue
            ContentType.objects.using(db).filter(app_label=from_app, model=model).update(app_label=to_app)

    return forwards
