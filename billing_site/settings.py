"""Settings for Studio Billing, read from the environment with safe local defaults."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no variable, failing loudly on anything else."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "csp",
    "template_partials",
    "django_tables2",
    "django_filters",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    "procrastinate.contrib.django",
    "billing_site.apps.SiteConfig",
    "idempotency",
    "runs",
    "customers",
    "billing",
    "credits",
    "documents",
    "reports",
    "accounts",
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
    "billing_site.sessions.SessionLimitsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_site.urls"
WSGI_APPLICATION = "billing_site.wsgi.application"

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
                "billing_site.context_processors.menu",
            ],
            "builtins": ["billing_site.templatetags.money", "billing_site.templatetags.urls"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default="postgres://postgres@127.0.0.1:5432/studio_billing",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0")),
        # A persistent connection that PostgreSQL dropped (restart, failover, idle timeout) is replaced
        # before the request uses it, instead of failing that request with a 500.
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The "not allowed" page in people's words (billing_site.permissions): what each permission a page checks lets someone
# do, and whom to ask. Which roles may do it is read from the groups' permissions (credits.roles says what each has).
PERMISSION_WORDS = {
    "customers.view_customer": "see customers",
    "customers.add_customer": "add customers",
    "customers.change_customer": "edit customers’ details",
    "billing.view_invoice": "see invoices",
    "billing.add_invoice": "create invoices",
    "billing.void_invoice": "void invoices",
    "billing.view_payment": "see payments",
    "billing.add_payment": "record payments",
    "credits.view_credit": "see credits",
    "credits.add_credit": "add credits",
    "credits.change_credit": "modify credits",
    "credits.delete_credit": "delete credits",
    "credits.add_creditassignment": "assign credits to invoices",
    "credits.delete_creditassignment": "remove a credit’s assignments",
    "credits.view_creditbatch": "see bulk batches",
    "credits.add_creditbatch": "add bulk credits",
    "credits.undo_creditbatch": "undo a bulk batch",
    "credits.view_refund": "see refunds",
    "credits.add_refund": "refund credit to families",
    "credits.change_refund": "reverse refunds",
    "axes.delete_accessattempt": "unlock a colleague’s login",
    "runs.view_run": "see background runs",
    "runs.change_run": "cancel background runs",
    "runs.add_run": "start background runs",
    "reports.view_overview": "see the Overview",
    "documents.view_email": "see the Outbox",
    "documents.add_email": "email documents to families",
}
# The group whose members the page names to ask, and what one of them is called.
PERMISSION_ASK = ("Managers", "a manager")

AUTHENTICATION_BACKENDS = [
    "billing_site.auth.LoginThrottleBackend",
    "billing_site.auth.ModelBackend",  # Django's, with the user's roles and permissions read in the user's query
]
# History context (who, which page) for the requests that write; a GET writes nothing, and with a context every one
# of its queries would carry a set_config() in front (~3 ms of a 15 ms page). The services set their own context too.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Five wrong passwords for one username from one address pause that pair, 1 minute at first, doubling with each
# further lock of the pair within a day (at most an hour); a manager can unlock it (billing_site.auth says why).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = "billing_site.auth.cool_off"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# A session ends after 30 minutes without a request and 12 hours after logging in, whatever happens
# (billing_site.sessions, which also says why on the login page).
SESSION_ENGINE = "billing_site.sessions"  # the database store, read with a query written out
SESSION_IDLE_SECONDS = 30 * 60
SESSION_COOKIE_AGE = 12 * 60 * 60

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.environ.get("STUDIO_LANGUAGE", "en-gb")
TIME_ZONE = os.environ.get("STUDIO_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# One currency per installation; amounts are formatted with Babel in this locale.
STUDIO_CURRENCY = os.environ.get("STUDIO_CURRENCY", "GBP")
STUDIO_LOCALE = os.environ.get("STUDIO_LOCALE", "en_GB")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

DJANGO_TABLES2_TEMPLATE = "tables/table.html"


# Browser security. No inline script anywhere: every script is a file from 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# Served over HTTPS (the default when DEBUG is off): secure cookies, HSTS, redirect to https.
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Background work (README › Background work): Procrastinate's jobs live in this same PostgreSQL database and are
# deferred in the transaction of the request that asks for them. Workers: `manage.py procrastinate worker`.
# A worker that stops sending heartbeats (killed, its machine gone) for this long has its jobs retried elsewhere.
RUNS_STALLED_AFTER_SECONDS = int(os.environ.get("RUNS_STALLED_AFTER_SECONDS", "30"))
PROCRASTINATE_WORKER_DEFAULTS = {
    "delete_jobs": "successful",  # a finished job's record is the Run, not the queue's row
    "fetch_job_polling_interval": 1,  # new jobs wake a worker at once (LISTEN/NOTIFY); this is the safety net
    "update_heartbeat_interval": max(1, RUNS_STALLED_AFTER_SECONDS // 6),
    "stalled_worker_timeout": RUNS_STALLED_AFTER_SECONDS,
}
# A bulk credit for more customers than this runs in the background (credits.bulk_run); below, it is instant.
BULK_CREDITS_IN_BACKGROUND_ABOVE = 20_000
RUNS_JOBS_PER_RUN = int(os.environ.get("RUNS_JOBS_PER_RUN", "4"))

# Documents the family receives (README › Documents): who the studio is on every PDF and email, and how email leaves.
STUDIO_NAME = os.environ.get("STUDIO_NAME", "Riverside Dance & Swim Studio")
STUDIO_ADDRESS = os.environ.get("STUDIO_ADDRESS", "12 Mill Lane\nKingston upon Thames\nKT1 2AB")
STUDIO_EMAIL = os.environ.get("STUDIO_EMAIL", "office@riverside-studio.example")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", STUDIO_EMAIL)
# SMTP when EMAIL_HOST is set (production); otherwise, with DEBUG, each message is a file in mail/ (`make run`).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "" if DEBUG else "localhost")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = BASE_DIR / "mail"
EMAIL_TIMEOUT = 30
# A message the server could not take is tried this many times, waiting EMAIL_RETRY_SECONDS × 2^(try − 1) between.
EMAIL_MAX_ATTEMPTS = int(os.environ.get("EMAIL_MAX_ATTEMPTS", "5"))
EMAIL_RETRY_SECONDS = float(os.environ.get("EMAIL_RETRY_SECONDS", "30"))
