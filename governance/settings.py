"""Settings for the Five-Star Branch Portal, read from the environment.

The embedded default (no environment at all) is a development portal on SQLite
with Celery tasks run in-process. Production sets DEBUG=false, SECRET_KEY,
ALLOWED_HOSTS, DATABASE_URL and CELERY_BROKER_URL.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def envint(name: str, default: str) -> int:
    value = os.getenv(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "true")

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "simple_history",
    "axes",
    "csp",
    "governance",
    "branches",
    # disputes before grids: its cases point at grid events, so the demo reset (a signal
    # heard in this order) empties it first.
    "disputes",
    "grids",
    "volunteers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (the cache rule reads request.user); the 400 answer for bad
    # characters comes back through it, so a signed-in user's 400 is not stored either.
    "governance.middleware.PrivateCacheMiddleware",
    "governance.middleware.RequestCharactersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes last, so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

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
                "governance.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", "0"),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "governance.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login lockout: after AXES_FAILURE_LIMIT failures for one username from one
# address, that pair is locked for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", "30") / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "governance/locked_out.html"
AXES_USERNAME_CALLABLE = "governance.lockout.lockout_username"

# Chinese only for now: with LocaleMiddleware an English browser would get Django's own
# messages in English beside our Chinese pages, until an English catalogue ships.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Uploads: spreadsheets and evidence files are read in memory up to this size.
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", str(10 * 1024 * 1024))
EVIDENCE_MAX_BYTES = envint("EVIDENCE_MAX_BYTES", str(20 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES

REST_FRAMEWORK = {
    # Token first: DRF takes the WWW-Authenticate header of an anonymous caller's 401 from
    # the first class, and session authentication has none (it would answer 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, errors included: the browsable API would answer a browser in HTML (and
    # needs inline styles the CSP refuses). /api/docs/ is the interactive documentation.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "governance.openapi.PortalAutoSchema",
    "EXCEPTION_HANDLER": "governance.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "五星支部门户 API",
    "DESCRIPTION": "Five-Star Branch Portal API. 所有数据按用户管辖范围过滤。",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and ReDoc from our own static files: government intranets have no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A report's status, its events' from/to status: one choice set, one schema name.
    "ENUM_NAME_OVERRIDES": {
        "ReportStatusEnum": "branches.models.MonthlyReport.Status",
        "RectificationStatusEnum": "branches.models.Rectification.Status",
        "GridEventStatusEnum": "grids.models.GridEvent.Status",
        "GridEventCategoryEnum": "grids.models.GridEvent.Category",
        "DisputeCategoryEnum": "disputes.models.DisputeCase.Category",
        "ServiceOrderCategoryEnum": "volunteers.models.ServiceOrder.Category",
        "HazardStatusEnum": "grids.models.Hazard.Status",
        "HazardKindEnum": "grids.models.Hazard.Kind",
        "ServiceOrderStatusEnum": "volunteers.models.ServiceOrder.Status",
        "AttendanceStatusEnum": "volunteers.models.Attendance.Status",
        "DisputeStatusEnum": "disputes.models.DisputeCase.Status",
        "DisputeLevelEnum": "disputes.models.DisputeCase.Level",
        "DisputeSourceEnum": "disputes.models.DisputeCase.Source",
        "DisputePartyRoleEnum": "disputes.models.Party.Role",
    },
}

# Scripts and styles only from our own static files: no inline <script>, <style> or
# style="" (htmx's indicator style is switched off in base.html's htmx-config). Images
# may be data: URLs (the favicon, Bootstrap's and Swagger UI's inline SVG icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# A month's report is due on this day of the following month (the late flag).
REPORT_DUE_DAY = envint("REPORT_DUE_DAY", "5")
if not 1 <= REPORT_DUE_DAY <= 28:
    raise ImproperlyConfigured("REPORT_DUE_DAY must be a day from 1 to 28")

# Points the volunteers points bank (积分银行) credits per confirmed hour of service.
VOLUNTEER_POINTS_PER_HOUR = envint("VOLUNTEER_POINTS_PER_HOUR", "10")

# Dispute time limits (days from receipt) that differ from the defaults per category and risk
# level in disputes.workflow.TIME_LIMIT_DAYS: "LABOUR.HIGH=2,LAND.LOW=25". The category and
# risk names are checked when the disputes app loads.
DISPUTE_TIME_LIMITS: dict[tuple[str, str], int] = {}
for _item in envlist("DISPUTE_TIME_LIMITS", ""):
    _key, _sep, _days = _item.partition("=")
    _category, _dot, _risk = _key.strip().partition(".")
    if not (_sep and _dot and _days.strip().isdigit() and 1 <= int(_days) <= 365):
        raise ImproperlyConfigured(
            f"DISPUTE_TIME_LIMITS items look like LABOUR.HIGH=2 (1 to 365 days), got {_item!r}"
        )
    DISPUTE_TIME_LIMITS[(_category, _risk.strip())] = int(_days)

# Maker–checker (审核与填报分离): whoever submitted a report may not approve it themselves.
REVIEW_SEPARATION = envbool("REVIEW_SEPARATION", "true")

# Celery: without a broker the embedded default runs tasks in-process.
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", os.getenv("REDIS_URL", ""))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands a message that was not acknowledged (a killed worker's) to another worker after
# this many seconds. It must exceed the longest task (a city's chunk: seconds) and the longest
# retry countdown (RECOMPUTE_RETRY_BACKOFF_MAX), or live work would be delivered twice; the
# sweep brings lost period work back sooner than this (RECOMPUTE_STALE_SECONDS).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", "600")}
# Task retries on a database error: exponential from this many seconds, capped, this many times
# (the defaults wait 2,010 s in all: a 30-minute outage is ridden out).
RECOMPUTE_RETRY_BACKOFF = envint("RECOMPUTE_RETRY_BACKOFF", "2")
RECOMPUTE_RETRY_BACKOFF_MAX = envint("RECOMPUTE_RETRY_BACKOFF_MAX", "300")
RECOMPUTE_RETRY_MAX = envint("RECOMPUTE_RETRY_MAX", "13")
# An unfinished chunk of a period recompute neither sent nor started for this long is sent again.
RECOMPUTE_STALE_SECONDS = envint("RECOMPUTE_STALE_SECONDS", "180")
CELERY_BEAT_SCHEDULE = {
    # The closed month is recomputed on the 1st at 02:00 Asia/Shanghai.
    "recompute-closed-month": {
        "task": "branches.tasks.recompute_closed_month",
        "schedule": crontab(minute=0, hour=2, day_of_month=1),
    },
    # Every branch is rated in the open month each night (its figures are labelled 进行中).
    "recompute-open-month": {
        "task": "branches.tasks.recompute_open_month",
        "schedule": crontab(minute=30, hour=0),
    },
    # Lost recompute work (broker down, worker killed, retries spent) is picked up here.
    "sweep-recomputes": {
        "task": "branches.tasks.sweep_recomputes",
        "schedule": envint("RECOMPUTE_SWEEP_SECONDS", "120"),
    },
    # In-portal notifications older than NOTIFICATION_RETENTION_DAYS go each night at 03:15.
    "purge-notifications": {
        "task": "governance.tasks.purge_notifications",
        "schedule": crontab(minute=15, hour=3),
    },
    # Rectification items past their deadline are marked 逾期 each day at 00:10 (Shanghai).
    "mark-rectifications-overdue": {
        "task": "branches.tasks.mark_rectifications_overdue",
        "schedule": crontab(minute=10, hour=0),
    },
    # Dispute cases past their due date are marked 逾期 each day at 00:20 (Shanghai).
    "mark-disputes-overdue": {
        "task": "disputes.tasks.mark_disputes_overdue",
        "schedule": crontab(minute=20, hour=0),
    },
}
NOTIFICATION_RETENTION_DAYS = envint("NOTIFICATION_RETENTION_DAYS", "90")

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}

# Spreadsheet uploads (branches.spreadsheets.reading: the hierarchy import and the month sheet):
# at most this many data rows and cells (blank ones too) per table, and an .xlsx may unpack to
# at most this many bytes (zip bombs). Rows and cells bound the time any file can cost to about
# 10 s (bench/imports.py measures it): 30,000 valid rows import in ~7 s of CPU, and openpyxl
# reads ~75,000 cells a second. A province's hierarchy (~53,000 units) takes two or more
# files, e.g. one per city.
IMPORT_MAX_ROWS = envint("IMPORT_MAX_ROWS", "30000")
IMPORT_MAX_CELLS = envint("IMPORT_MAX_CELLS", "400000")
SPREADSHEET_MAX_UNPACKED_BYTES = envint("SPREADSHEET_MAX_UNPACKED_BYTES", str(256 * 1024 * 1024))
