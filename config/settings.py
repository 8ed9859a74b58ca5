"""Coolhead settings: one module, read from the environment.

With nothing set, the portal runs on SQLite with a filesystem Celery broker and
prints e-mail to the console, so `make run` works on a machine that has only
Python. With DATABASE_URL and REDIS_URL set, the same code runs on PostgreSQL
and Redis. Every variable is listed in the README.
"""

import ipaddress
import sys
import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from psycopg_pool import ConnectionPool
from psycopg_pool.base import AttemptWithBackoff

from config.env import env_bool, env_int, env_list, env_severities, env_severity_minutes, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state of the embedded mode (SQLite file, broker folders, cache, mail).
RUN_DIR = Path(env_str("COOLHEAD_RUN_DIR", str(BASE_DIR / ".run")))

# pytest imports settings before any conftest can set the environment, so the
# suite is recognised here; it only relaxes the need for a SECRET_KEY.
TESTING = "pytest" in sys.modules

DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "coolhead-insecure-development-key-never-use-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if (DEBUG or TESTING) else None)
if not (DEBUG or TESTING) and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set to a secret value when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000", schemes={"http", "https"}).rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE must be an IANA zone name, not {TIME_ZONE!r}") from None
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "allauth",
    "allauth.account",
    # Single sign-on through the company's identity provider, and two-factor authentication.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    # The apps, from the top layer down (see the import-linter contract in pyproject.toml).
    "config",
    "integrations",
    "customers",
    "reviews",
    "statuspage",
    "roles",
    "incidents",
    "accounts",
    "comms",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A NUL in the path, query string or a header: a 400 before anything looks it up.
    "core.middleware.refuse_nul_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Answers to a signed-in person (session or token): Cache-Control private, no-store.
    "core.middleware.private_cache_middleware",
    # The database down or its pool exhausted: a 503 with Retry-After rather than a 500.
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages show times in the viewer's own zone (their profile's), read only when a time is shown.
    "roles.middleware.viewer_time_zone_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After sign-in: an administrator without a second factor sets one up first (when required).
    "accounts.middleware.admin_mfa_middleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.sign_in",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{RUN_DIR / 'coolhead.sqlite3'}")
# PostgreSQL: a pool of connections per process (README, Sizing). Off, each thread keeps
# its own connection for DB_CONN_MAX_AGE seconds.
DB_POOL = env_bool("DB_POOL", True)
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 2, minimum=0)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10, minimum=1)
# Seconds a request waits for a pooled connection: under overload it answers slowly, then 503;
# with the database down (the pool cannot connect) it is the time to that 503, so keep it short.
DB_POOL_TIMEOUT = env_int("DB_POOL_TIMEOUT", 2, minimum=1)
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one file: wait for locks rather
    # than fail, and take the write lock at BEGIN so that two writers queue up
    # instead of deadlocking on a lock upgrade.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _db["CONN_HEALTH_CHECKS"] = True
    # Parallel test runs on one server (developers, helpers, CI) need their own
    # test database.
    _db["TEST"] = {"NAME": "test_coolhead" + env_str("TEST_DB_SUFFIX", "")}
    if DB_POOL:
        # psycopg's pool, per process: at most DB_POOL_MAX_SIZE connections whatever the
        # number of requests and streams in flight (the ASGI server runs each request in a
        # thread of its own, so "a connection per thread, kept" would grow without bound).
        # A request that waits longer than DB_POOL_TIMEOUT for one gets a 503 with
        # Retry-After (core.middleware), never PostgreSQL's "too many clients".
        _db["CONN_MAX_AGE"] = 0
        _db["CONN_HEALTH_CHECKS"] = False
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": DB_POOL_TIMEOUT,
            # A pooled connection that PostgreSQL (or a proxy, a failover) closed while it
            # sat idle is found out when it is handed out, and replaced, rather than failing
            # the request that gets it: one empty round trip, as CONN_HEALTH_CHECKS did.
            "check": ConnectionPool.check_connection,
        }
        # After a failed connection psycopg's pool tries again 1, 2, 4, 8... seconds later
        # (for up to 5 minutes): a worker would go on answering 503 for as long after
        # PostgreSQL came back (make drills saw it). Once a second, steadily, instead.
        AttemptWithBackoff.DELAY_BACKOFF = 1.0
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery --------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "", schemes={"redis", "rediss", "unix"})
# Redis down or frozen must cost a request a fraction of a second, not minutes:
# every Redis call on a request path has these timeouts (connect and read), and
# after a failure the process leaves Redis alone for REDIS_DOWN_RETRY_SECONDS
# (config/cache.py for the cache, core/tasks.py for the broker).
REDIS_TIMEOUT_MS = env_int("REDIS_TIMEOUT_MS", 500, minimum=50)
BROKER_TIMEOUT_MS = env_int("BROKER_TIMEOUT_MS", 1500, minimum=1100)
REDIS_DOWN_RETRY_SECONDS = env_int("REDIS_DOWN_RETRY_SECONDS", 5, minimum=1)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "coolhead" + env_str("TEST_DB_SUFFIX", "") + ("-test" if TESTING else ""),
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_MS / 1000,
                "socket_timeout": REDIS_TIMEOUT_MS / 1000,
                "DOWN_RETRY_SECONDS": REDIS_DOWN_RETRY_SECONDS,
                # Rate limits count in this process while Redis is down: allauth's
                # (it would turn every sign-in into a 500) and the status page's
                # subscribe limit (it would stop limiting).
                "LOCAL_WHEN_DOWN_KEY_PREFIXES": ["allauth:", "statuspage:subscribe-rate:"],
            },
        }
    }
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Shared by the web server and the worker processes of the embedded mode.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(RUN_DIR / "cache"),
        }
    }

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any countdown or ETA we schedule, so that an unacknowledged
        # task is not redelivered while it is merely waiting for its time.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600, minimum=60),
        # Without these a publish to a frozen Redis waits forever. Longer than
        # the 1 s server-side BRPOP timeout that a consumer waits for.
        "socket_connect_timeout": BROKER_TIMEOUT_MS / 1000,
        "socket_timeout": BROKER_TIMEOUT_MS / 1000,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(RUN_DIR / "broker"),
        "data_folder_out": str(RUN_DIR / "broker"),
        "processed_folder": str(RUN_DIR / "broker-processed"),
        "store_processed": False,
        # The exchange tables (kombu's default is ./control, in whatever folder
        # the process was started from).
        "control_folder": str(RUN_DIR / "broker-control"),
    }
    # Any process may enqueue first (migrate, load_demo, the web server), and
    # kombu's filesystem transport fails on a folder that is not there.
    for _folder in ("broker", "broker-processed", "broker-control"):
        (RUN_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(RUN_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that fails is not retried on the spot (each try may cost a socket
# timeout): the caller logs it, and the outbox sweeper or the status page tick
# sends later (core/tasks.py). redis-py reconnects a pooled connection that
# Redis closed by itself, so a restarted Redis costs no failed publish.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 0,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# Sessions are read from the cache first, so that the live room's poll does not
# cost a session query, and from the database when the cache is down.
SESSION_ENGINE = "config.sessions"
# A cached session is trusted this long after the database last confirmed it;
# then one query checks that it still exists (it may have been signed out while
# Redis was down, config/sessions.py).
SESSION_CACHE_VERIFY_SECONDS = env_int("SESSION_CACHE_VERIFY_SECONDS", 60, minimum=1)

# --- Auth (django-allauth: e-mail and password, no open sign-up) ---------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_ALLOW_SIGNUP = env_bool("ACCOUNT_ALLOW_SIGNUP", False)
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Failed sign-ins: allauth's per-address limit over all accounts stays; its
# per-account limit (5/5m/key) is replaced by accounts/throttle.py, which counts
# per account *and* address, so that failures elsewhere cannot lock a person out.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}
ACCOUNTS_SIGN_IN_FAILURE_LIMIT = env_int("ACCOUNTS_SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
ACCOUNTS_SIGN_IN_LOCK_SECONDS = env_int("ACCOUNTS_SIGN_IN_LOCK_SECONDS", 15 * 60, minimum=1)
# The client address those limits count: behind N proxies that each append to
# X-Forwarded-For, the N-th from the right; 0 trusts only the connection's peer.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("ALLAUTH_TRUSTED_PROXY_COUNT", 0, minimum=0)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# --- Single sign-on (OpenID Connect) -----------------------------------------------
# Okta, Google Workspace, Keycloak, Authentik, Entra ID...: with OIDC_ISSUER set, the
# sign-in page offers "Sign in with <OIDC_PROVIDER_NAME>" (allauth's OpenID Connect
# provider, PKCE on). Register <SITE_URL>/accounts/oidc/sso/login/callback/ at the
# identity provider. A person is matched to an existing account by the e-mail address
# the provider vouches for; only OIDC_ALLOWED_EMAIL_DOMAINS are let in (empty: any).
OIDC_ISSUER = env_url("OIDC_ISSUER", "", schemes={"http", "https"}).rstrip("/")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_SCOPES = env_list("OIDC_SCOPES", ["openid", "profile", "email"])
OIDC_ALLOWED_EMAIL_DOMAINS = [d.lower().lstrip("@") for d in env_list("OIDC_ALLOWED_EMAIL_DOMAINS", [])]
# Off: only people an administrator created sign in (matched by e-mail); on: a new
# person from an allowed domain gets an account at their first sign-in.
OIDC_CREATE_USERS = env_bool("OIDC_CREATE_USERS", False)
# On: the password form signs in only the break-glass addresses (superusers), for when
# the identity provider is down; everyone else signs in through it.
OIDC_SSO_ONLY = env_bool("OIDC_SSO_ONLY", False)
OIDC_BREAK_GLASS_EMAILS = [e.lower() for e in env_list("OIDC_BREAK_GLASS_EMAILS", [])]
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
if OIDC_SSO_ONLY and not OIDC_ISSUER:
    raise ImproperlyConfigured("OIDC_SSO_ONLY needs an identity provider: set OIDC_ISSUER")
if OIDC_SSO_ONLY and not OIDC_BREAK_GLASS_EMAILS:
    raise ImproperlyConfigured(
        "OIDC_SSO_ONLY needs OIDC_BREAK_GLASS_EMAILS: an administrator who can still sign in "
        "with a password when the identity provider is down"
    )
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": OIDC_ISSUER,
                    "scope": OIDC_SCOPES,
                    # The provider is the company's own, chosen by an administrator:
                    # the address it signs for is the person's (within the allowed domains).
                    "verified_email": True,
                    "email_authentication": True,
                },
            }
        ]
        if OIDC_ISSUER
        else [],
    }
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = env_int("OIDC_TIMEOUT", 10, minimum=1)

# --- Two-factor authentication (allauth's MFA: TOTP apps, security keys, recovery codes) ---
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Coolhead")
# Addresses are set by administrators (sign-up is closed), so an unverified one is no way
# to lock its owner out with someone else's authenticator.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# WebAuthn needs a secure origin and a name, not an address, as its relying party: in the
# embedded mode open the portal as http://localhost:<port> (browsers count it as secure;
# on http://127.0.0.1 security keys cannot be used), in production over https.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# On: an administrator (staff or superuser) without a second factor can open nothing but
# the pages that set one up (accounts/middleware.py).
ACCOUNTS_MFA_REQUIRED_FOR_ADMINS = env_bool("ACCOUNTS_MFA_REQUIRED_FOR_ADMINS", False)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- E-mail -------------------------------------------------------------------
# Read from the familiar EMAIL_* variables into Django 6.1's MAILERS.
_EMAIL_HOST = env_str("EMAIL_HOST", "")
_EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
_EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if _EMAIL_USE_TLS and _EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
_EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if _EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": _EMAIL_HOST or "localhost",
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": _EMAIL_USE_TLS,
        "use_ssl": _EMAIL_USE_SSL,
        "timeout": env_int("EMAIL_TIMEOUT", 10, minimum=1),
    }
elif _EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    _EMAIL_OPTIONS = {"file_path": env_str("EMAIL_FILE_PATH", str(RUN_DIR / "mail"))}
else:
    _EMAIL_OPTIONS = {}
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Coolhead <coolhead@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Static files ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security -------------------------------------------------------------------
# HTTPS hardening follows SITE_URL: a portal published on https gets secure
# cookies, HSTS and the redirect; the embedded http://127.0.0.1 mode does not.
_HTTPS = SITE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _HTTPS)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Logging ----------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Paths that are secrets (acknowledge, confirm, unsubscribe, reset links) are
    # masked in every line (config/secret_logs.py; gunicorn: gunicorn.conf.py).
    "filters": {"secret_links": {"()": "config.secret_logs.SecretLinkFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secret_links"]},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own handlers (a second, unmasked console in DEBUG; mail to
        # ADMINS, which is not set) are replaced by the root's masking console.
        "django": {"level": "INFO"},
        # runserver's request lines: through the same (masking) handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # apprise quotes URLs, topics and tokens in its lines: they are written
        # nowhere; comms/transports.py reads this thread's warnings to tell the
        # outbox what failed, in words of its own.
        "apprise": {"handlers": ["null"], "level": "WARNING", "propagate": False},
        # What apprise calls through (requests, urllib3, OAuth for some services)
        # writes request paths and tokens at DEBUG: nowhere, whatever LOG_LEVEL says.
        "urllib3": {"handlers": ["null"], "level": "WARNING", "propagate": False},
        "requests_oauthlib": {"handlers": ["null"], "level": "WARNING", "propagate": False},
        "oauthlib": {"handlers": ["null"], "level": "WARNING", "propagate": False},
    },
}

# --- Product -----------------------------------------------------------------------
# How often the live incident room asks for news, in milliseconds, when it cannot
# hold a stream open (the stream is the usual way; polling is the fallback).
INCIDENT_ROOM_POLL_MS = env_int("INCIDENT_ROOM_POLL_MS", 2000, minimum=250)
# Server-sent events (core/live.py). Without REDIS_URL, each web process reads the
# cached revision of every room it watches this often (once per room, not per watcher).
LIVE_CACHE_CHECK_MS = env_int("LIVE_CACHE_CHECK_MS", 250, minimum=50)
# An open stream sends a comment this often, so that proxies keep it and a dead client is noticed.
LIVE_KEEPALIVE_SECONDS = env_int("LIVE_KEEPALIVE_SECONDS", 15, minimum=1)
# Streams one web process holds open; more get a 503 with Retry-After (the page polls instead).
LIVE_MAX_STREAMS = env_int("LIVE_MAX_STREAMS", 2000, minimum=1)
# Other requests one web process works on at once; more wait their turn for up to
# WEB_QUEUE_SECONDS, then get a 503 with Retry-After (config/asgi.py).
WEB_MAX_IN_FLIGHT = env_int("WEB_MAX_IN_FLIGHT", 40, minimum=1)
WEB_QUEUE_SECONDS = env_int("WEB_QUEUE_SECONDS", 10, minimum=1)
TIMELINE_PAGE_SIZE = env_int("TIMELINE_PAGE_SIZE", 50, minimum=5)

# --- Comms (the outbox) --------------------------------------------------------------
# A worker holds a claimed delivery for this long; a lease that expires means the
# worker died, and the sweeper hands the delivery out again.
COMMS_SENDING_LEASE_SECONDS = env_int("COMMS_SENDING_LEASE_SECONDS", 300, minimum=5)
# Retries: base * 2^(attempt-1) seconds, capped (keep the cap below the broker's
# visibility timeout), dead after COMMS_MAX_ATTEMPTS.
COMMS_RETRY_BASE_SECONDS = env_int("COMMS_RETRY_BASE_SECONDS", 30, minimum=1)
COMMS_RETRY_MAX_SECONDS = env_int("COMMS_RETRY_MAX_SECONDS", 3600, minimum=1)
COMMS_MAX_ATTEMPTS = env_int("COMMS_MAX_ATTEMPTS", 8, minimum=1)
# E-mail deliveries per task, sent over one SMTP connection.
COMMS_EMAIL_BATCH_SIZE = env_int("COMMS_EMAIL_BATCH_SIZE", 100, minimum=1)
# A pending delivery older than this was not enqueued (broker down at commit).
COMMS_STRANDED_AFTER_SECONDS = env_int("COMMS_STRANDED_AFTER_SECONDS", 60, minimum=1)
# The right-hand side of every e-mail's Message-ID (the same on a retry, so receivers drop repeats).
COMMS_MESSAGE_ID_DOMAIN = env_str("COMMS_MESSAGE_ID_DOMAIN", "coolhead.invalid")
# Contact methods (apprise URLs) people may add: services reached over HTTP(S).
# Not mailto:// (e-mail is built in) nor apprise's desktop and syslog plugins.
COMMS_APPRISE_SCHEMES = [
    scheme.lower()
    for scheme in env_list(
        "COMMS_APPRISE_SCHEMES",
        "ntfy,ntfys,pover,tgram,slack,workflow,workflows,discord,matrix,matrixs,mmost,mmosts,twilio,"
        "gotify,gotifys,signal,signals,pbul,rocket,rockets,json,jsons,form,forms,xml,xmls".split(","),
    )
]
# Accounts of the company's own that an admin gives a channel (the social accounts public
# updates are posted to: customers.SocialAccount): apprise's Mastodon, Bluesky and X.
COMMS_APPRISE_CHANNEL_SCHEMES = [
    scheme.lower()
    for scheme in env_list(
        "COMMS_APPRISE_CHANNEL_SCHEMES",
        "mastodon,mastodons,toot,toots,bsky,bluesky,x,twitter,tweet".split(","),
    )
]
for _name, _schemes in (
    ("COMMS_APPRISE_SCHEMES", COMMS_APPRISE_SCHEMES),
    ("COMMS_APPRISE_CHANNEL_SCHEMES", COMMS_APPRISE_CHANNEL_SCHEMES),
):
    for _scheme in _schemes:
        if not _scheme.isalnum():
            raise ImproperlyConfigured(f"{_name} lists URL schemes without '://', not {_scheme!r}")
# Outbound URLs (webhooks) reach public addresses only (comms/addresses.py); these
# exact host names (or IP literals) may be internal, such as a self-hosted receiver.
OUTBOUND_ALLOWED_HOSTS = env_list("OUTBOUND_ALLOWED_HOSTS", [])
for _host in OUTBOUND_ALLOWED_HOSTS:
    if any(c in _host for c in "/@*? ") or _host.startswith(".") or _host.count(":") == 1:
        raise ImproperlyConfigured(
            f"OUTBOUND_ALLOWED_HOSTS lists exact host names or IP addresses (no scheme, port, path "
            f"or wildcard), not {_host!r}"
        )
if REDIS_URL and COMMS_RETRY_MAX_SECONDS >= CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]:
    raise ImproperlyConfigured("COMMS_RETRY_MAX_SECONDS must be below CELERY_VISIBILITY_TIMEOUT")

# --- Metrics (/metrics, config/metrics.py) ------------------------------------------
# Off until one is set: a bearer token the team's Prometheus sends, and/or the
# client addresses (or networks, e.g. 10.0.0.0/8) that may scrape without it.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", [])
try:
    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(a, strict=False) for a in METRICS_ALLOWED_ADDRESSES]
except ValueError as _error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: IP addresses or networks ({_error})") from None

# --- REST API (each app's api/ package) and integrations ----------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Scripts send `Authorization: Bearer <personal token>`; the browsable
        # docs page of a signed-in person uses the session (with CSRF).
        "accounts.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    # drf-spectacular's, with the answers every operation can give (core/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Coolhead API",
    "DESCRIPTION": "Declare, staff, work and communicate incidents. Authenticate every call with "
    "`Authorization: Bearer <token>` (a personal token from your settings page or "
    "`manage.py issue_api_token <username>`). Errors are `{detail, code, errors}`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "SeverityEnum": "incidents.models.Severity",
        "PageStatusEnum": "roles.models.Page.Status",
        "ComponentStatusEnum": "statuspage.models.ComponentStatus",
        "PublicIncidentStatusEnum": "statuspage.models.IncidentStatus",
        "PublishableStatusEnum": "statuspage.models.PUBLISHABLE_STATUSES",
        "DecisionKindEnum": "incidents.models.Decision.Kind",
        "ReviewStateEnum": "reviews.models.Review.State",
        "FollowUpStateEnum": "reviews.models.FollowUp.State",
        "HypothesisStateEnum": "incidents.models.Hypothesis.State",
        "DecisionStateEnum": "incidents.models.Decision.State",
        "ChangeStateEnum": "incidents.models.Change.State",
        "ProposalStateEnum": "roles.models.Proposal.State",
        "TaskStateEnum": "roles.models.Task.State",
    },
}
# Alert ingestion (Alertmanager, PagerDuty Events v2) and Slack: the largest body accepted.
INTEGRATION_MAX_BODY_BYTES = env_int("INTEGRATION_MAX_BODY_BYTES", 512 * 1024, minimum=1024)
# Slack app's signing secret; empty switches the slash command endpoint off (404).
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET", "")
# How often `/incident status stalk` posts the status to the channel's webhook.
SLACK_STALK_SECONDS = env_int("SLACK_STALK_SECONDS", 30, minimum=5)
# How long a code from a person's Slack page links their Slack user (`/incident link <code>`).
SLACK_LINK_CODE_MAX_AGE_SECONDS = env_int("SLACK_LINK_CODE_MAX_AGE_SECONDS", 600, minimum=60)

# --- Status page -------------------------------------------------------------------------
# The last good rendering of every public document, read when Redis or the database is down.
STATUSPAGE_SNAPSHOT_DIR = Path(env_str("STATUSPAGE_SNAPSHOT_DIR", str(RUN_DIR / "statuspage")))
# Browsers and proxies may keep a public document this long, and serve it stale while revalidating.
STATUSPAGE_MAX_AGE = env_int("STATUSPAGE_MAX_AGE", 30, minimum=0)
STATUSPAGE_STALE_WHILE_REVALIDATE = env_int("STATUSPAGE_STALE_WHILE_REVALIDATE", 60, minimum=0)
# Subscribe requests allowed per client address and window.
STATUSPAGE_SUBSCRIBE_LIMIT = env_int("STATUSPAGE_SUBSCRIBE_LIMIT", 5, minimum=1)
STATUSPAGE_SUBSCRIBE_WINDOW_SECONDS = env_int("STATUSPAGE_SUBSCRIBE_WINDOW_SECONDS", 600, minimum=1)
# Only for benchmarks/statuspage_bench.py: ?fresh=1 renders the page from the database.
STATUSPAGE_ALLOW_CACHE_BYPASS = env_bool("STATUSPAGE_ALLOW_CACHE_BYPASS", False)
# A subscriber fan-out not done this long after its update was published (the
# broker was down) is enqueued again by the status page's tick.
STATUSPAGE_LOST_FAN_OUT_AFTER_SECONDS = env_int("STATUSPAGE_LOST_FAN_OUT_AFTER_SECONDS", 120, minimum=1)

# --- Roles: paging, handover and reminders -------------------------------------------
ROLES_PAGE_ACK_MAX_AGE_SECONDS = env_int("ROLES_PAGE_ACK_MAX_AGE_SECONDS", 24 * 3600, minimum=60)
ROLES_PERSON_ESCALATION_MINUTES = env_int("ROLES_PERSON_ESCALATION_MINUTES", 5, minimum=1)
ROLES_EXECUTIVE_SUMMARY_MINUTES = env_severity_minutes("ROLES_EXECUTIVE_SUMMARY_MINUTES", {1: 30, 2: 30})
ROLES_PUBLIC_UPDATE_OVERDUE_MINUTES = env_severity_minutes(
    "ROLES_PUBLIC_UPDATE_OVERDUE_MINUTES", {1: 30, 2: 30}
)
ROLES_CHECKUP_HOURS = env_int("ROLES_CHECKUP_HOURS", 4, minimum=1)
ROLES_HANDOVER_LEAD_MINUTES = env_int("ROLES_HANDOVER_LEAD_MINUTES", 15, minimum=0)
ROLES_HANDOVER_WINDOW_HOURS = env_int("ROLES_HANDOVER_WINDOW_HOURS", 8, minimum=1)
# On-call calendar feeds (.ics) list shifts this many days ahead (and the past week).
ROLES_CALENDAR_FEED_DAYS = env_int("ROLES_CALENDAR_FEED_DAYS", 60, minimum=1)

# --- Customers: direct updates, calls, follow-ups, social posts ---------------------------
# An ETA to fix given (or moved to) more than this many minutes ahead means calling the
# affected customers (MNX: "if the ETA to fix is greater than an hour, call the customer").
CUSTOMERS_CALL_ETA_MINUTES = env_int("CUSTOMERS_CALL_ETA_MINUTES", 60, minimum=1)
# The liaison is reminded this often until every affected customer is called or skipped.
CUSTOMERS_CALL_REMINDER_MINUTES = env_int("CUSTOMERS_CALL_REMINDER_MINUTES", 15, minimum=1)

# --- Reviews: post-incident reviews, follow-ups, insights ---------------------------------
# Resolving an incident of these severities drafts its review; others get one on demand.
REVIEWS_AUTO_SEVERITIES = env_severities("REVIEWS_AUTO_SEVERITIES", [1, 2])
# A review is due this many business days (Monday to Friday) after resolution, per severity.
REVIEWS_DUE_BUSINESS_DAYS = env_severity_minutes(
    "REVIEWS_DUE_BUSINESS_DAYS", {1: 5, 2: 5, 3: 10, 4: 10, 5: 10}
)
# The owner is reminded once when the due date is this many days away, and once when it has passed.
REVIEWS_DUE_SOON_DAYS = env_int("REVIEWS_DUE_SOON_DAYS", 2, minimum=1)
# Attendees are reminded of the review meeting this many hours before it.
REVIEWS_MEETING_REMINDER_HOURS = env_int("REVIEWS_MEETING_REMINDER_HOURS", 24, minimum=1)
# A follow-up created by a patch or workaround decision is due this many days later.
REVIEWS_DECISION_FOLLOW_UP_DAYS = env_int("REVIEWS_DECISION_FOLLOW_UP_DAYS", 14, minimum=1)
# The weekly digest of open and overdue follow-ups goes to each team on this weekday (0 = Monday).
REVIEWS_DIGEST_WEEKDAY = env_int("REVIEWS_DIGEST_WEEKDAY", 0, minimum=0)
if REVIEWS_DIGEST_WEEKDAY > 6:
    raise ImproperlyConfigured("REVIEWS_DIGEST_WEEKDAY is 0 (Monday) to 6 (Sunday)")
