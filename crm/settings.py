"""Switchboard settings: everything that differs between machines comes from the environment."""

from __future__ import annotations

from pathlib import Path

from csp.constants import NONE, SELF

from crm import env

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DEBUG", False)
# In DEBUG a throwaway key keeps `./switchboard up` a one-liner; anywhere else SECRET_KEY must be set.
SECRET_KEY = env.string("SECRET_KEY", "insecure-development-key-only-for-debug" if DEBUG else None)
ALLOWED_HOSTS = env.listing("ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env.listing("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "crm.apps.CrmConfig",
    "crm.apps.SwitchboardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "csp",
    "django_celery_beat",
    "accounts",
    "inbox",
    "teams",
    "outreach",
    "pipeline",
    "contacts",
    "reports",
    "automation",
    "agents",
    "webhooks",
    "api",
    # django-ninja: its Swagger UI is served from our static files, never from a CDN.
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "crm.presence.PresenceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "crm.urls"
ASGI_APPLICATION = "crm.asgi.application"

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
                "crm.live.context",
            ],
        },
    },
]

DATABASES = {"default": env.database("DATABASE_URL", "postgresql://localhost/switchboard")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.string("REDIS_URL", "redis://127.0.0.1:6379/0")
# Several deployments (or test runs) may share one Redis: cache keys carry the database's name unless
# CACHE_KEY_PREFIX names another prefix.
CACHE_KEY_PREFIX = env.string("CACHE_KEY_PREFIX", str(DATABASES["default"]["NAME"]))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
    }
}

AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Failed logins per (username, client address) that are free; each further one makes that pair wait
# LOGIN_THROTTLE_DELAY seconds, doubling, up to LOGIN_THROTTLE_MAX_DELAY. Failures are forgotten after
# LOGIN_THROTTLE_WINDOW seconds without one.
LOGIN_THROTTLE_ATTEMPTS = env.integer("LOGIN_THROTTLE_ATTEMPTS", 5)
LOGIN_THROTTLE_DELAY = env.number("LOGIN_THROTTLE_DELAY", 5.0)
LOGIN_THROTTLE_MAX_DELAY = env.number("LOGIN_THROTTLE_MAX_DELAY", 15 * 60.0)
LOGIN_THROTTLE_WINDOW = env.integer("LOGIN_THROTTLE_WINDOW", 60 * 60)
# Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client. Nobody else's is
# believed, so a client cannot pick the address its failed logins are counted against. Give uvicorn the
# same list (--forwarded-allow-ips), as docker-compose.yml does.
TRUSTED_PROXIES = env.networks("TRUSTED_PROXIES")

# Production hardening, all behind SECURE_COOKIES (on unless DEBUG): secure cookies, HSTS, an optional
# redirect to HTTPS, and a Content-Security-Policy that allows only our own scripts and styles.
SECURE_COOKIES = env.boolean("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# No SECURE_PROXY_SSL_HEADER: Django would take X-Forwarded-Proto from any peer. uvicorn sets the scheme
# from trusted proxies only (--forwarded-allow-ips).
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 365 * 24 * 3600) if SECURE_COOKIES else 0
SECURE_SSL_REDIRECT = SECURE_COOKIES and env.boolean("SECURE_SSL_REDIRECT", False)
# Health checks come over plain HTTP from inside the container (crm/healthcheck.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
CONTENT_SECURITY_POLICY = (
    {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF],
            "style-src": [SELF],
            "img-src": [SELF, "data:"],
            "connect-src": [SELF],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
        }
    }
    if SECURE_COOKIES
    else None
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.string("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (campaign media). Session hosts read them too, so in production this is a shared volume.
MEDIA_ROOT = env.string("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Celery. RabbitMQ is the broker: it redelivers a dead worker's unacknowledged commands the moment its
# connection drops, where Redis would hold them for kombu's visibility_timeout (see README, "Broker").
CELERY_BROKER_URL = env.string("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
CELERY_RESULT_BACKEND = env.string("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env.string("CELERY_DEFAULT_QUEUE", "default")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env.integer("CELERY_TASK_TIME_LIMIT", 15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.integer("CELERY_TASK_SOFT_TIME_LIMIT", 14 * 60)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# After a broker reconnect Celery lowers the prefetch and raises it again from the callback of each ack,
# which on a threads pool (session hosts) runs on a pool thread: that thread sends basic.qos and waits
# for the answer on the connection the consumer's thread is reading. One of them reads the other's
# frames; the chaos run saw a host that kept its account queues (1 consumer) and took nothing more
# (docs/chaos.md). Prefetch is one message per pool thread anyway: nothing to over-fetch.
CELERY_WORKER_ENABLE_PREFETCH_COUNT_REDUCTION = False
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Telegram. By default the production data centres; TELEGRAM_DC ("id@host:port") and
# TELEGRAM_SERVER_KEYS (a file of PEM RSA public keys to trust besides Telegram's) point the whole pool
# at any other MTProto server, such as tgsim in tests and the demo.
TELEGRAM_DC = env.string("TELEGRAM_DC", "")
TELEGRAM_SERVER_KEYS = env.string("TELEGRAM_SERVER_KEYS", "")
# Each account's commands wait in the queue "<prefix>.<account id>" until its session host takes them.
COMMAND_QUEUE_PREFIX = env.string("COMMAND_QUEUE_PREFIX", "acct")
# How long queueing an account command keeps trying to reach the broker (a restart takes seconds) before
# the command fails for good, in plain words (accounts.registry).
COMMAND_PUBLISH_PATIENCE = env.number("COMMAND_PUBLISH_PATIENCE", 10.0)
# How long the outcome of each account command (accounts.Operation) is kept.
OPERATIONS_KEEP_DAYS = env.integer("OPERATIONS_KEEP_DAYS", 7)
# How long an API or MCP call waits for its account command before answering 202 (writes) or 504.
API_COMMAND_TIMEOUT = env.number("API_COMMAND_TIMEOUT", 10.0)
# The API's "send a file from a URL": the largest file the web process downloads, and how long it may
# take. Only HTTPS to public addresses, unless API_FILE_URL_ALLOW_PRIVATE lets URLs reach private,
# loopback and link-local addresses (an internal file server). API_FILE_URL_ALLOW_INSECURE lets plain
# http:// through: for tests, never in production.
API_FILE_MAX_BYTES = env.integer("API_FILE_MAX_BYTES", 20 * 1024 * 1024)
API_FILE_TIMEOUT = env.number("API_FILE_TIMEOUT", 30.0)
API_FILE_URL_ALLOW_PRIVATE = env.boolean("API_FILE_URL_ALLOW_PRIVATE", False)
API_FILE_URL_ALLOW_INSECURE = env.boolean("API_FILE_URL_ALLOW_INSECURE", False)
# The agent hook (agents/): only HTTPS to public addresses, unless AGENT_HOOK_ALLOW_PRIVATE lets hooks
# reach private, loopback and link-local addresses (a hook on the same machine or network) and
# AGENT_HOOK_ALLOW_INSECURE lets plain http:// through (tests, never in production). Whatever each
# account's hook allows, one conversation gets at most AGENT_HOOK_CONVERSATION_MAX_PER_HOUR automated
# replies an hour: the backstop that ends a loop with another automated party.
AGENT_HOOK_ALLOW_PRIVATE = env.boolean("AGENT_HOOK_ALLOW_PRIVATE", False)
AGENT_HOOK_ALLOW_INSECURE = env.boolean("AGENT_HOOK_ALLOW_INSECURE", False)
AGENT_HOOK_CONVERSATION_MAX_PER_HOUR = env.integer("AGENT_HOOK_CONVERSATION_MAX_PER_HOUR", 60)
# How long each agent hook's delivery log keeps its rows.
AGENT_HOOK_LOG_KEEP_DAYS = env.integer("AGENT_HOOK_LOG_KEEP_DAYS", 30)
# Session hosts: how many accounts one process holds, the TTL of a host's liveness (its leases live and
# die with it: a dead host's accounts move after at most this long), and how often state is saved.
SESSION_HOST_CAPACITY = env.integer("SESSION_HOST_CAPACITY", 500)
SESSION_LEASE_TTL = env.number("SESSION_LEASE_TTL", 5.0)  # the takeover time: docs/session-host.md
SESSION_CHECKPOINT_INTERVAL = env.number("SESSION_CHECKPOINT_INTERVAL", 15.0)
SESSION_ENTITY_CACHE_SIZE = env.integer("SESSION_ENTITY_CACHE_SIZE", 2000)
# A connect (TCP, MTProto handshake, first request) that takes longer is abandoned and retried with
# backoff; at most SESSION_CONNECT_SLOTS accounts of one host connect at the same time.
SESSION_CONNECT_TIMEOUT = env.number("SESSION_CONNECT_TIMEOUT", 30.0)
SESSION_CONNECT_SLOTS = env.integer("SESSION_CONNECT_SLOTS", 50)
# FLOOD_WAITs up to this many seconds are slept through in place; longer ones cool the account down.
FLOOD_SLEEP_THRESHOLD = env.integer("FLOOD_SLEEP_THRESHOLD", 30)
# Login codes requested per number per day before the wizard asks for confirmation.
LOGIN_ATTEMPTS_WARNING = env.integer("LOGIN_ATTEMPTS_WARNING", 3)
# How long an outreach pause lasts after PEER_FLOOD (seconds).
SPAM_LIMIT_PAUSE = env.integer("SPAM_LIMIT_PAUSE", 24 * 3600)
# Inbox: how often session hosts store what they received (seconds), and what the backfill after
# onboarding fetches (dialogs, and messages per dialog).
INBOX_FLUSH_INTERVAL = env.number("INBOX_FLUSH_INTERVAL", 0.5)
# …and how long the first item into a quiet buffer waits for others before it is stored (and pushed).
INBOX_FLUSH_DELAY = env.number("INBOX_FLUSH_DELAY", 0.02)
INBOX_BACKFILL_DIALOGS = env.integer("INBOX_BACKFILL_DIALOGS", 200)
INBOX_BACKFILL_MESSAGES = env.integer("INBOX_BACKFILL_MESSAGES", 50)
# Media files larger than this are not fetched into the inbox (operators open them in Telegram).
INBOX_MEDIA_MAX_BYTES = env.integer("INBOX_MEDIA_MAX_BYTES", 20 * 1024 * 1024)
# The Redis hash of per-account change counters that open inboxes poll; under the cache prefix, so two
# stacks sharing one Redis (or a test run beside the demo) never see each other's counters.
INBOX_LIVE_KEY = env.string("INBOX_LIVE_KEY", f"{CACHE_KEY_PREFIX}:inbox:versions")
# Live updates pushed to open pages (crm.live): a stream ends after this many seconds and the browser
# reconnects, so rights changed where no event says so (a role set in the admin site) apply by then.
LIVE_STREAM_MAX_AGE = env.number("LIVE_STREAM_MAX_AGE", 300.0)
# Seconds between the comments that keep an idle stream open through proxies.
LIVE_HEARTBEAT = env.number("LIVE_HEARTBEAT", 15.0)
# A user seen (any request, an open page's stream included) within this many minutes is online: teams
# auto-assign new conversations only to online operators (teams/). Open pages reconnect their stream
# every LIVE_STREAM_MAX_AGE seconds, so an open tab keeps its user online.
USER_ONLINE_MINUTES = env.integer("USER_ONLINE_MINUTES", 10)
# Admin alerts (reauth_required, banned, spam_limited) are POSTed here as JSON when set.
ALERT_WEBHOOK_URL = env.string("ALERT_WEBHOOK_URL", "")

# Webhooks (webhooks/, docs/webhooks.md): endpoints must be https:// URLs on public addresses, unless
# WEBHOOK_ALLOW_PRIVATE lets private, loopback and link-local targets (and plain http://) through, for
# tests and local development. Each attempt gets WEBHOOK_TIMEOUT seconds; an endpoint whose every
# attempt failed for WEBHOOK_DISABLE_AFTER seconds is disabled and admins are alerted. Events are kept
# WEBHOOK_KEEP_DAYS days.
WEBHOOK_ALLOW_PRIVATE = env.boolean("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_TIMEOUT = env.number("WEBHOOK_TIMEOUT", 10.0)
# Deliveries one worker task sends at the same time (threads).
WEBHOOK_SEND_THREADS = env.integer("WEBHOOK_SEND_THREADS", 8)
WEBHOOK_DISABLE_AFTER = env.integer("WEBHOOK_DISABLE_AFTER", 5 * 24 * 3600)
WEBHOOK_KEEP_DAYS = env.integer("WEBHOOK_KEEP_DAYS", 30)

# When set, /readyz answers only requests carrying "Authorization: Bearer <HEALTH_TOKEN>".
HEALTH_TOKEN = env.string("HEALTH_TOKEN", "")

SENTRY_DSN = env.string("SENTRY_DSN", "")
SWITCHBOARD_MASTER_KEYS = env.string("SWITCHBOARD_MASTER_KEYS", "")

LOG_LEVEL = env.string("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "crm.redact.RedactSecretsFilter"},
        "forbidden_one_line": {"()": "crm.logs.ForbiddenOneLine"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "telethon": {"level": "WARNING"},
        # Django's own handlers (a second console under DEBUG, mail to ADMINS) go: every line reaches
        # the root handler once, redacted.
        "django": {"handlers": [], "propagate": True},
        "django.request": {"filters": ["forbidden_one_line"]},
    },
}

if SENTRY_DSN:
    # Only when enabled: sentry_sdk and its Django and Celery integrations stay unloaded otherwise.
    from crm.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=env.string("SENTRY_ENVIRONMENT", "production"))
