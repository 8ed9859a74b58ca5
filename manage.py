#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # manage.py is the developer's tool: with DEBUG unset it runs in development
    # mode. Production says DEBUG=0 (docker-compose.yml, the Dockerfile); gunicorn
    # and Celery, which do not come through here, still refuse to start without
    # a SECRET_KEY.
    os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
