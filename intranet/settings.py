"""Agora settings: one module, every deployment choice read from the environment.

The defaults give the embedded demo (SQLite under var/, in-memory channel layer, database
search). Production sets DATABASE_URL, REDIS_URL, SEARCH_BACKEND, ELASTICSEARCH_URL,
SECRET_KEY, DEBUG and ALLOWED_HOSTS (see docker-compose.yml).
"""

import os
import secrets
import sys
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

TESTING = "pytest" in sys.modules
DEBUG = env.bool("DEBUG", default=False)


def _embedded_secret_key() -> str:
    """A per-checkout key kept under var/, so the embedded demo needs no configuration."""
    VAR_DIR.mkdir(exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _embedded_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "intranet",
    "outbox",
    "profiles",
    "groups",
    "feeds",
    "search",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.saml",
    "identity",
    "identity.oidc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The database unreachable (restarting): 503 + Retry-After instead of a 500. Above the
    # middleware that read the session or the person, so it sees their failures too.
    "intranet.middleware.DatabaseUnavailableMiddleware",
    "intranet.middleware.ReadOnceMiddleware",  # a GET reads each person's agency once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "profiles.middleware.ProfileLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "intranet.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "intranet.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL says otherwise ---------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'agora.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    if env.bool("DATABASE_POOL", default=True):
        # Connections kept open between requests (opening one parses the whole schema):
        # intranet/pooled_sqlite/base.py. In-memory databases (the tests') are never pooled.
        DATABASES["default"]["ENGINE"] = "intranet.pooled_sqlite"
        DATABASES["default"]["OPTIONS"]["pool"] = env.int("DATABASE_POOL_MAX_SIZE", default=8)
    # The tests' database: in memory, as Django makes it for SQLite. Said outright because
    # pytest-django recognises SQLite by the ENGINE's name: under another name it would give
    # each test worker a database file named after NAME instead.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Statements compiled once (feeds/compiled.py) run on server-binding cursors: psycopg
    # prepares one after it has run this many times on a connection. Django's own cursors
    # bind on the client and are never prepared. Unset (empty): never prepare (for a pooler
    # in transaction mode, which cannot keep prepared statements).
    threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(threshold) if threshold else None
    )
    # Only those statements are prepared, and PostgreSQL plans each of them well once for
    # any values (their parameters are ids and cursors: docs/BENCHMARKS.md, "Home feed"),
    # so they keep that generic plan instead of planning anew for each call.
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c plan_cache_mode=force_generic_plan")
    if env.bool("DATABASE_POOL", default=True):
        # A few open connections shared by the requests (Django's connections belong to a
        # thread, and a request has a thread to itself while it runs), failing fast while
        # PostgreSQL is away: intranet/pooled_postgresql/base.py.
        DATABASES["default"]["ENGINE"] = "intranet.pooled_postgresql"
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=16),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer: in-memory unless REDIS_URL is set -----------------------------------------
# Live updates use ONE channel per server process (feeds/live_hub.py), so the layer carries one
# copy of a message per process, not per socket. `capacity` bounds what a stalled process may
# queue; `expiry` drops what nobody read within 30 s (pages catch up with since=<cursor>).
# redis-py's async pool raises instead of waiting when it runs out of connections: the hub
# keeps at most 64 joins in flight, the request threads one send each, so 256 is ample.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=256),
                        "socket_connect_timeout": 2,
                        "socket_timeout": 15,  # longer than the layer's 5 s blocking pop
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                # Several Agora sites (or test servers) may share one Redis: one prefix each.
                "prefix": env.str("REDIS_PREFIX", default="agora"),
                "capacity": 5000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 5000, "expiry": 30},
        }
    }
# Called after every commit that recorded an outbox event (outbox.actions.record_event);
# empty to turn live updates off.
REALTIME_PUBLISHER = env.str("REALTIME_PUBLISHER", default="feeds.realtime.publish_event") or None

# --- Search ------------------------------------------------------------------------------------
SEARCH_BACKEND = env.str("SEARCH_BACKEND", default="database")
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
ELASTICSEARCH_INDEX = env.str("ELASTICSEARCH_INDEX", default="agora-search")  # the alias
ELASTICSEARCH_TIMEOUT = env.float("ELASTICSEARCH_TIMEOUT", default=3.0)  # then the database
ELASTICSEARCH_REFRESH = env.bool("ELASTICSEARCH_REFRESH", default=False)  # tests, small sites

# --- Auth --------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "feeds:home"
LOGOUT_REDIRECT_URL = "login"

# --- Identity: agency sign-in (OpenID Connect, SAML) and the directory (LDAP) ------------------
# Every provider and the directory come from the environment; README "Signing in with the
# agency's account" lists the variables. identity/conf.py reads them (nothing is contacted).
from identity import conf as identity_conf  # noqa: E402  (pure functions, no Django models)

OIDC_PROVIDERS = identity_conf.oidc_providers(os.environ)
SAML_PROVIDERS = identity_conf.saml_providers(os.environ)
LDAP_DIRECTORY = identity_conf.directory(os.environ)
AGORA_ALLOWED_ISSUERS = env.list("AGORA_ALLOWED_ISSUERS", default=[])
AGORA_ALLOWED_EMAIL_DOMAINS = env.list("AGORA_ALLOWED_EMAIL_DOMAINS", default=[])
# Password sign-in: on for the embedded demo; off, only agency accounts sign in (and
# administrators with a password, if AGORA_LOCAL_LOGIN_ADMINS).
AGORA_LOCAL_LOGIN = env.bool("AGORA_LOCAL_LOGIN", default=True)
AGORA_LOCAL_LOGIN_ADMINS = env.bool("AGORA_LOCAL_LOGIN_ADMINS", default=False)
AGORA_PROFILE_MANAGED_FIELDS = "identity.selectors.directory_fields"
AUTHENTICATION_BACKENDS = ["identity.backends.PasswordBackend"]
SOCIALACCOUNT_PROVIDERS = identity_conf.socialaccount_providers(OIDC_PROVIDERS, SAML_PROVIDERS)
SOCIALACCOUNT_ONLY = True  # allauth handles agency sign-in only; passwords are Django's
SOCIALACCOUNT_ADAPTER = "identity.adapters.SocialAccountAdapter"
ACCOUNT_ADAPTER = "identity.adapters.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never match an account by email address
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in buttons POST (no login CSRF)
SOCIALACCOUNT_REQUESTS_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploaded files are never served from a public URL: every download goes through a view that
# asks the permission module first.
MEDIA_URL = "/files/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# Attachment limits (bytes).
AGORA_MAX_IMAGE_BYTES = env.int("AGORA_MAX_IMAGE_BYTES", default=5 * 1024 * 1024)
AGORA_MAX_DOCUMENT_BYTES = env.int("AGORA_MAX_DOCUMENT_BYTES", default=10 * 1024 * 1024)
AGORA_MAX_ATTACHMENTS = 4
AGORA_POST_MAX_LENGTH = 5000
AGORA_PAGE_SIZE = 20
# How long a post's or comment's Idempotency-Key (API) or form token (pages) is remembered:
# the same key within this time answers from the first request instead of writing again.
AGORA_IDEMPOTENCY_KEY_HOURS = env.int("AGORA_IDEMPOTENCY_KEY_HOURS", default=24)

# --- Security ----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a revoked token then answers 401 rather than a session's 403.
        "intranet.api_authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["intranet.api_permissions.IsActiveStaffMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "intranet.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Agora API",
    "DESCRIPTION": "Posts, feeds, people and groups of an Agora network.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Outbox ------------------------------------------------------------------------------------
# In the embedded default the server drains the outbox itself after each commit; production
# runs `manage.py run_outbox` as its own process (the worker service of docker-compose.yml).
OUTBOX_DRAIN_INLINE = env.bool("OUTBOX_DRAIN_INLINE", default=not REDIS_URL)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=20)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
OUTBOX_CONSUMERS: list[str] = env.list(
    "OUTBOX_CONSUMERS",
    default=[
        "search.indexing.handle_event",
        "notifications.consumers.handle_event",
        "feeds.realtime.republish_state",
    ],
)

# --- Intranet pages (Wagtail) and notifications -------------------------------------------------
# The agency's own pages (news, guidelines, agency pages) are Wagtail pages of the `intranet`
# app, served under /intranet/ to signed-in staff; editors work in Wagtail's admin at /cms/
# (Django's admin stays at /admin/). README "Intranet pages and editors" explains the roles.
INSTALLED_APPS += [
    "notifications",
    "wagtail.users",
    "wagtail.images",
    "wagtail.documents",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
]
TEMPLATES[0]["OPTIONS"]["context_processors"].append("notifications.context_processors.bell")
LOGGING["loggers"]["django_tasks"] = {"level": "WARNING"}  # Wagtail's index/reference tasks
# Wagtail's admin has an API of its own (under /cms/): the OpenAPI schema documents ours only.
SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"] = ["intranet.api_schema.only_agora_api"]
# Absolute links in emails and in Wagtail's admin notifications.
AGORA_BASE_URL = env.str("AGORA_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
WAGTAIL_SITE_NAME = "Agora"
WAGTAILADMIN_BASE_URL = AGORA_BASE_URL
WAGTAILADMIN_LOGIN_URL = "login"  # one sign-in page (agency accounts included) for everything
WAGTAIL_FRONTEND_LOGIN_URL = "login"
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False  # passwords are the sign-in page's business
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAIL_ENABLE_UPDATE_CHECK = False  # nothing phones home
WAGTAIL_ENABLE_WHATS_NEW_BANNER = False
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]  # no SVG: it can carry script
WAGTAILIMAGES_MAX_UPLOAD_SIZE = AGORA_MAX_IMAGE_BYTES
WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40_000_000
# Documents (policies as PDF, ...) are served through a view that checks the reader is staff.
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_EXTENSIONS = ["pdf", "odt", "ods", "odp", "docx", "xlsx", "pptx", "txt", "csv"]
# Wagtail searches pages with the project's search backend where it has one: the database
# (PostgreSQL full text, SQLite FTS5) by default, Elasticsearch when SEARCH_BACKEND says so.
if SEARCH_BACKEND == "elasticsearch" and ELASTICSEARCH_URL:
    from importlib.metadata import version as _installed_version

    _es_major = _installed_version("elasticsearch").split(".")[0]
    WAGTAILSEARCH_BACKENDS = {
        "default": {
            "BACKEND": f"wagtail.search.backends.elasticsearch{_es_major}",
            "URLS": [ELASTICSEARCH_URL],
            "INDEX": env.str("WAGTAILSEARCH_INDEX", default="agora-pages"),
            "TIMEOUT": 5,
            "AUTO_UPDATE": True,
        }
    }
else:
    WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# The search page also lists intranet pages (kind "page"): search/sources.py loads these
# dotted paths, so the search app never imports the intranet.
SEARCH_EXTRA_SOURCES = ["intranet.selectors.search_pages"]

# Email: EMAIL_URL (smtp://user:password@host:587, smtp+tls://..., consolemail://), printed to
# the console on the embedded default.
_email = env.email_url("EMAIL_URL", default="consolemail://")
globals().update({name: value for name, value in _email.items() if value is not None})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Agora <agora@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The daily digest goes out from this local hour on (manage.py send_digests, run hourly).
NOTIFICATIONS_DIGEST_HOUR = env.int("NOTIFICATIONS_DIGEST_HOUR", default=7)
