"""Configuration classes; every value comes from the environment."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_INSTANCE_DIR = BASE_DIR / "instance"


class ConfigError(RuntimeError):
    """The configuration cannot start the application; the message says what to set."""


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Config:
    """Values read from the environment, nothing else: building one writes no file."""

    ENV_NAME = "base"
    # Development conveniences, never on in production.
    DEV_MAIL_PAGE_DEFAULT = False
    WEBHOOK_ALLOW_HTTP_DEFAULT = False  # production: receivers over https only
    # When set, the app makes what is missing of SECRET_KEY and the seal in its instance folder
    # as it starts (`run.create_app`, `documents.seal.init_app`); production requires them.
    INSTANCE_DEFAULTS = False
    WORKER_IN_PROCESS_DEFAULT = False
    SESSION_COOKIE_SECURE_DEFAULT = False
    SMS_GATEWAY_DEFAULT = "log"
    ANTIVIRUS_DEFAULT = "none"
    FAS_STANDIN_DEFAULT = False
    API_RATE_LIMIT_DEFAULT = "600 per minute"
    BABEL_DEFAULT_LOCALE = "fr"
    LANGUAGES = ("fr", "de", "en", "nl")
    # Offered once the catalogue, the procedures, the emails and the PDFs are complete in the
    # language (Dutch: catalogue in place, not yet translated).
    LANGUAGES_READY = ("fr", "de", "en")
    BABEL_DEFAULT_TIMEZONE = "Europe/Brussels"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # The cookie is written when the session changes, never again on each answer: its expiry is
    # the login's absolute limit anyway (auth.LoginSessionInterface), the idle limit is kept on
    # the server, and a cookie sent with every answer, static files included, could be stored
    # by a shared cache, or overwrite the cookie a parallel request had just changed (a flash).
    SESSION_REFRESH_EACH_REQUEST = False
    WTF_CSRF_TIME_LIMIT = None

    def __init__(self):
        env = os.environ
        instance = Path(env.get("GUICHET_INSTANCE_DIR") or DEFAULT_INSTANCE_DIR)
        self.INSTANCE_DIR = str(instance)
        self.SECRET_KEY = env.get("SECRET_KEY") or None
        # Earlier keys, comma-separated, while SECRET_KEY is rotated: sessions signed and
        # secrets sealed (`sealed`) under them are still read; `flask staff reseal-secrets`.
        self.SECRET_KEY_FALLBACKS = [
            key.strip() for key in (env.get("SECRET_KEY_FALLBACKS") or "").split(",") if key.strip()
        ]
        self.DATABASE_URL = env.get("DATABASE_URL") or f"sqlite:///{instance}/guichet.sqlite3"
        # PostgreSQL connections kept open per process (database.open_database)
        self.DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 10)
        self.DATABASE_POOL_STALE_SECONDS = env_int("DATABASE_POOL_STALE_SECONDS", 300)
        self.DATABASE_POOL_WAIT_SECONDS = env_int("DATABASE_POOL_WAIT_SECONDS", 10)
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.HUEY_SQLITE_PATH = env.get("HUEY_SQLITE_PATH") or str(instance / "huey.sqlite3")
        # The queue's name, and the rate limits' key prefix, in Redis: two instances (staging
        # and production) sharing one Redis give each its own.
        self.HUEY_NAME = env.get("HUEY_NAME") or "guichet"
        self.WORKER_IN_PROCESS = env_bool("WORKER_IN_PROCESS", self.WORKER_IN_PROCESS_DEFAULT)

        self.STORAGE_BACKEND = env.get("STORAGE_BACKEND") or "local"
        self.STORAGE_DIR = env.get("STORAGE_DIR") or str(instance / "storage")
        # The `s3` backend: a bucket of an S3-compatible store; the keys, when unset, come
        # from boto3's own chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, an instance role).
        self.S3_BUCKET = env.get("S3_BUCKET") or None
        self.S3_ENDPOINT_URL = env.get("S3_ENDPOINT_URL") or None
        self.S3_REGION = env.get("S3_REGION") or None
        self.S3_ACCESS_KEY_ID = env.get("S3_ACCESS_KEY_ID") or None
        self.S3_SECRET_ACCESS_KEY = env.get("S3_SECRET_ACCESS_KEY") or None
        self.S3_PREFIX = env.get("S3_PREFIX") or ""
        self.S3_ADDRESSING_STYLE = env.get("S3_ADDRESSING_STYLE") or "auto"
        self.S3_TIMEOUT_SECONDS = float(env.get("S3_TIMEOUT_SECONDS") or 10)
        # The PDF check of annexes runs in a child process with these bounds.
        self.PDF_CHECK_TIMEOUT = float(env.get("PDF_CHECK_TIMEOUT") or 10)
        self.PDF_CHECK_MEMORY_MB = env_int("PDF_CHECK_MEMORY_MB", 512)
        self.MAX_ANNEX_BYTES = env_int("MAX_ANNEX_BYTES", 20 * 1024 * 1024)
        self.MAX_ANNEX_PAGES = env_int("MAX_ANNEX_PAGES", 500)
        # One reply to the administration: so many files at most, all checked in so long.
        self.MAX_FILES_PER_MESSAGE = env_int("MAX_FILES_PER_MESSAGE", 10)
        self.PDF_CHECK_TOTAL_SECONDS = float(env.get("PDF_CHECK_TOTAL_SECONDS") or 30)
        # What a company sends, rate-limited "<per person>|<per company>" (Flask-Limiter).
        self.UPLOAD_RATE = env.get("UPLOAD_RATE") or "30/minute;300/day|60/minute;1000/day"
        self.REPLY_RATE = env.get("REPLY_RATE") or "10/minute;100/day|30/minute;300/day"
        # Calls of the REST API per token, or per address for calls without a valid token.
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT") or self.API_RATE_LIMIT_DEFAULT
        # The virus scanner of annexes: `clamd` (CLAMD_SOCKET, or CLAMD_HOST and CLAMD_PORT)
        # or `none` (development and tests only).
        self.ANTIVIRUS = env.get("ANTIVIRUS") or self.ANTIVIRUS_DEFAULT
        self.CLAMD_HOST = env.get("CLAMD_HOST") or None
        self.CLAMD_PORT = env_int("CLAMD_PORT", 3310)
        self.CLAMD_SOCKET = env.get("CLAMD_SOCKET") or (
            None if self.CLAMD_HOST else "/run/clamav/clamd.ctl"
        )
        self.CLAMD_TIMEOUT = float(env.get("CLAMD_TIMEOUT") or 30)
        # A stored file no row references is removed once it is this old (an upload between
        # its storing and its commit is younger).
        self.ORPHAN_GRACE_HOURS = float(env.get("ORPHAN_GRACE_HOURS") or 24)
        # Background exports of a list: rows read per query, days a file is kept, and the
        # hours after which one still not finished is taken for lost (its worker died).
        self.EXPORT_BATCH_SIZE = env_int("EXPORT_BATCH_SIZE", 2000)
        self.EXPORT_KEEP_DAYS = env_int("EXPORT_KEEP_DAYS", 7)
        self.EXPORT_STALE_HOURS = env_int("EXPORT_STALE_HOURS", 6)
        # Webhooks (webhooks/): the wait for a receiver's answer; the delays between attempts
        # (seconds after each failure: together more than 48 hours, then the dead letters); the
        # failed attempts in a row that pause a subscription (its owner is emailed); the days
        # the delivery log is kept; whether a receiver may be reached over plain http.
        self.WEBHOOK_TIMEOUT_SECONDS = float(env.get("WEBHOOK_TIMEOUT_SECONDS") or 10)
        self.WEBHOOK_RETRY_DELAYS = [
            float(d)
            for d in (
                env.get("WEBHOOK_RETRY_DELAYS") or "5,300,1800,7200,18000,36000,50400,72000"
            ).split(",")
        ]
        self.WEBHOOK_PAUSE_AFTER = env_int("WEBHOOK_PAUSE_AFTER", 20)
        self.WEBHOOK_LOG_DAYS = env_int("WEBHOOK_LOG_DAYS", 90)
        self.WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", self.WEBHOOK_ALLOW_HTTP_DEFAULT)
        # Whole request bodies: one annex plus the form fields around it.
        self.MAX_CONTENT_LENGTH = self.MAX_ANNEX_BYTES + 256 * 1024

        self.MAIL_SERVER = env.get("MAIL_SERVER") or None
        self.MAIL_PORT = env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
        self.MAIL_USERNAME = env.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD") or None
        # A mail server that accepts the connection and then says nothing must not hold a worker.
        self.MAIL_TIMEOUT_SECONDS = env_int("MAIL_TIMEOUT_SECONDS", 30)
        self.MAIL_DEFAULT_SENDER = (
            env.get("MAIL_DEFAULT_SENDER") or "Guichet <no-reply@guichet.test>"
        )
        # Sending is decided by MAIL_SERVER alone, tests included (they use a real SMTP sink).
        self.MAIL_SUPPRESS_SEND = False
        self.MAIL_MESSAGE_ID_DOMAIN = env.get("MAIL_MESSAGE_ID_DOMAIN") or "guichet.test"
        # The retry delay doubles from OUTBOX_FIRST_RETRY_SECONDS; after
        # OUTBOX_GIVE_UP_HOURS without success the message is marked failed.
        self.OUTBOX_FIRST_RETRY_SECONDS = env_int("OUTBOX_FIRST_RETRY_SECONDS", 60)
        self.OUTBOX_GIVE_UP_HOURS = env_int("OUTBOX_GIVE_UP_HOURS", 48)
        self.OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50)
        # The yearly activity report is due on this day (MM-DD) of year N for year N-1.
        month, _sep, day = (env.get("REPORT_DUE_DATE") or "03-31").partition("-")
        self.REPORT_DUE_MONTH_DAY = (int(month), int(day))
        self.DASHBOARD_WAITING_DAYS = env_int("DASHBOARD_WAITING_DAYS", 14)
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted
        # (rate limits, audit IPs and absolute URLs then see the client, not the proxy).
        self.PROXY_FIX_HOPS = env_int("PROXY_FIX_HOPS", 0)

        self.PUBLIC_BASE_URL = env.get("PUBLIC_BASE_URL") or (
            f"http://127.0.0.1:{env.get('PORT') or 5000}"
        )

        self.SMS_GATEWAY = env.get("SMS_GATEWAY") or self.SMS_GATEWAY_DEFAULT
        self.SMS_HTTP_URL = env.get("SMS_HTTP_URL") or None
        self.SMS_HTTP_TOKEN = env.get("SMS_HTTP_TOKEN") or None
        self.SMS_SENDER = env.get("SMS_SENDER") or "Guichet"
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or (
            self.REDIS_URL or "memory://"
        )
        self.RATELIMIT_KEY_PREFIX = env.get("RATELIMIT_KEY_PREFIX") or self.HUEY_NAME
        self.RATELIMIT_HEADERS_ENABLED = True

        # `/dev/mail`: every email and SMS kept, shown to a browser on this machine only.
        self.DEV_MAIL_PAGE = env_bool("DEV_MAIL_PAGE", self.DEV_MAIL_PAGE_DEFAULT)

        # Identity: the portal is an OpenID Connect client of the FAS (or of the stand-in).
        self.FAS_STANDIN_ENABLED = env_bool("FAS_STANDIN_ENABLED", self.FAS_STANDIN_DEFAULT)
        standin_issuer = self.PUBLIC_BASE_URL.rstrip("/") + "/fas"
        self.OIDC_ISSUER = env.get("OIDC_ISSUER") or (
            standin_issuer if self.FAS_STANDIN_ENABLED else None
        )
        self.OIDC_CLIENT_ID = env.get("OIDC_CLIENT_ID") or "guichet"
        self.OIDC_CLIENT_SECRET = env.get("OIDC_CLIENT_SECRET") or None
        self.OIDC_SCOPE = env.get("OIDC_SCOPE") or "openid profile egovnrn"
        self.SESSION_COOKIE_SECURE = env_bool(
            "SESSION_COOKIE_SECURE", self.SESSION_COOKIE_SECURE_DEFAULT
        )
        # Sessions: the idle and absolute limits, and how old a login may be for a sensitive
        # step. The cookie of a login expires with the absolute limit (never Flask's 31 days).
        self.SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
        self.SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)
        self.STEP_UP_MINUTES = env_int("STEP_UP_MINUTES", 15)
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=self.SESSION_ABSOLUTE_HOURS)

        # Authentic sources: the company register adapter and the fictional sample it can load.
        self.COMPANY_REGISTER = env.get("COMPANY_REGISTER") or "kbo-open-data"
        self.COMPANY_REGISTER_SAMPLE_DIR = env.get("COMPANY_REGISTER_SAMPLE_DIR") or str(
            BASE_DIR / "sources" / "kbo_sample"
        )

        # The electronic seal of receipts and decision letters: certificate and private key
        # (PEM or DER files); development makes a self-signed one when these are unset.
        self.SEAL_CERT_FILE = env.get("SEAL_CERT_FILE") or None
        self.SEAL_KEY_FILE = env.get("SEAL_KEY_FILE") or None
        self.SEAL_KEY_PASSPHRASE = env.get("SEAL_KEY_PASSPHRASE") or None
        self.load()

    def load(self):
        """Hook for subclasses: fill or check values that need the environment at start."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEV_MAIL_PAGE_DEFAULT = True
    WORKER_IN_PROCESS_DEFAULT = True
    FAS_STANDIN_DEFAULT = True
    EMAIL_ALLOW_TEST_DOMAINS = True
    INSTANCE_DEFAULTS = True
    WEBHOOK_ALLOW_HTTP_DEFAULT = True  # a receiver on this machine, without a certificate

    def load(self):
        if bool(self.SEAL_CERT_FILE) != bool(self.SEAL_KEY_FILE):
            raise ConfigError("Set both SEAL_CERT_FILE and SEAL_KEY_FILE, or neither.")


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    WORKER_IN_PROCESS_DEFAULT = False
    # The suite calls the API thousands of times a minute with tokens whose ids are reused
    # from one test to the next; the limit's own tests set theirs.
    API_RATE_LIMIT_DEFAULT = "100000 per minute"

    def load(self):
        super().load()
        self.WORKER_IN_PROCESS = False
        if not self.SECRET_KEY:
            self.SECRET_KEY = secrets.token_urlsafe(32)  # kept in memory: one per test app


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE_DEFAULT = True
    SESSION_COOKIE_NAME = "__Host-session"
    SMS_GATEWAY_DEFAULT = "http"
    ANTIVIRUS_DEFAULT = "clamd"

    def load(self):
        if self.ANTIVIRUS == "none":
            raise ConfigError(
                "ANTIVIRUS=none: annexes would never be scanned; production scans them with "
                "clamd (ANTIVIRUS=clamd, with CLAMD_SOCKET or CLAMD_HOST and CLAMD_PORT)."
            )
        # A stand-in backend (SMS_GATEWAY=log, ...) is refused by its registry as the app
        # starts (`registry.Registry.select`), where the flag of each backend is known.
        if self.DEV_MAIL_PAGE:
            raise ConfigError(
                "DEV_MAIL_PAGE is set: /dev/mail shows every email and SMS sent, and is for "
                "development only; unset DEV_MAIL_PAGE (production sends mail through "
                "MAIL_SERVER)."
            )
        if self.FAS_STANDIN_ENABLED:
            raise ConfigError(
                "FAS_STANDIN_ENABLED is set: the stand-in identity provider is for development "
                "and tests only; production logs in through the real FAS (OIDC_ISSUER)."
            )
        for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
            if not getattr(self, name):
                raise ConfigError(f"{name} is not set: production logs in through the FAS.")
        if not self.SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is not set: production refuses to start without it. "
                "Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
                "and pass it in the environment."
            )
        if not os.environ.get("DATABASE_URL"):
            raise ConfigError(
                "DATABASE_URL is not set: production needs a PostgreSQL URL "
                "such as postgresql://user:password@host:5432/guichet."
            )
        for name in ("SEAL_CERT_FILE", "SEAL_KEY_FILE"):
            path = getattr(self, name)
            if not path:
                raise ConfigError(
                    f"{name} is not set: production seals receipts and decision letters with "
                    "the administration's seal certificate and key (PEM files); set "
                    "SEAL_CERT_FILE, SEAL_KEY_FILE and, for an encrypted key, SEAL_KEY_PASSPHRASE."
                )
            if not Path(path).is_file():
                raise ConfigError(f"{name}={path} is not a file this process can read.")
        # Every gunicorn worker and every node must count the same rate limits and read the
        # same job queue: an in-process store (`memory://`) or a queue in a local SQLite file
        # would give each its own.
        if not self.REDIS_URL:
            raise ConfigError(
                "REDIS_URL is not set: production keeps the job queue and the rate limits in "
                "Redis (redis://host:6379/0), shared by every app process and worker."
            )
        if self.RATELIMIT_STORAGE_URI.startswith("memory://"):
            raise ConfigError(
                "RATELIMIT_STORAGE_URI=memory:// counts each process apart; in production "
                "leave it unset (it follows REDIS_URL) or point it at Redis."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name=None):
    """Build the config object named by GUICHET_ENV (default: development)."""
    name = name or os.environ.get("GUICHET_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(
            f"GUICHET_ENV={name!r} is unknown; use one of {', '.join(CONFIGS)}."
        ) from None
