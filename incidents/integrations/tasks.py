from celery import shared_task


@shared_task(ignore_result=True)
def slack_stalks_post() -> int:
    from incidents.integrations.slack import slack_stalks_post as post

    return post()
