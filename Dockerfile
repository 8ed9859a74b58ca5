# Coolhead: one image for the web server, the Celery worker and beat.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings

WORKDIR /app

RUN groupadd --system coolhead && useradd --system --gid coolhead --home /app coolhead

COPY pyproject.toml README.md ./
RUN pip install .

COPY . .

# collectstatic needs settings but no secrets or database: a throwaway key for this step only.
RUN DEBUG=0 SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/.run && chown -R coolhead:coolhead /app/.run

USER coolhead
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"

# ASGI: uvicorn workers under gunicorn (config/workers.py); sync views run as before, the live
# streams hold no thread. Size workers and the database pool together (README, Sizing).
CMD ["gunicorn", "config.asgi:application", "--worker-class", "config.workers.Worker", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-", "--timeout", "30", "--graceful-timeout", "10"]
