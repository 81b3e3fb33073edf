"""Configuration, read only from the environment (and a `.env` file when present)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "instance" / "kyodo.sqlite3"


class ConfigError(RuntimeError):
    """Start-up configuration is unusable; the message is one line for the operator."""


def _bool(v: str | None) -> bool:
    return (v or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Config:
    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"
    database_url: str = f"sqlite:///{DEFAULT_SQLITE}"
    secret_key: str = ""
    demo: bool = False
    testing: bool = False
    city: str = "odawara"
    public_base_url: str = "http://127.0.0.1:5000"  # absolute links in messages point here
    # Dispatcher: threads per process that run handlers; bounded so a burst cannot exhaust memory.
    dispatch_workers: int = 4
    # "web": each web process runs its own pool; "worker": web processes only store and ack, and
    # `kyodo worker` (a separate, lower-priority process) runs the events.
    dispatch_mode: str = "web"
    dispatch_queue_max: int = 10_000
    # `kyodo worker`: events claimed and run in one transaction (distinct residents), and the threads
    # that deliver the answers meanwhile, so LINE's latency does not serialise the sends.
    worker_batch_size: int = 64
    worker_loops: int = 1  # 2 loops per process: more claim contention and slower acks on 2 cores (bench/e2e.py)
    delivery_threads: int = 32
    # LINE reply tokens are single use and short-lived; past this age we push instead.
    reply_token_ttl_s: float = 50.0
    # An event claimed longer ago than this by a process that died is handed back to the sweeper.
    claim_timeout_s: float = 120.0
    # An event that cannot be processed is tried this many times (a short pause between tries), then
    # marked failed, so it never holds up the same resident's later events.
    event_max_attempts: int = 3
    event_retry_delay_s: float = 0.2
    sweep_interval_s: float = 30.0
    line_timeout_s: float = 10.0
    line_max_attempts: int = 5
    line_backoff_base_s: float = 0.5
    line_backoff_cap_s: float = 30.0
    outbox_max_attempts: int = 8
    # `kyodo deliver` (publications): multicast calls per second (LINE allows 200 per channel), calls in
    # flight at once, and the pushes a resident gets per day in Tokyo before the rest are skipped (緊急 exempt).
    fanout_rate_per_s: float = 200.0
    fanout_threads: int = 8
    daily_push_cap: int = 3
    max_body_bytes: int = 1024 * 1024
    # Staff's announcement images (phone photos, 2-8 MB): the body limit of the upload routes only, for a
    # signed-in account (bot/request_guard.py); bot/media.py's own limit (UPLOAD_MAX_BYTES) by default.
    max_upload_bytes: int = 10 * 1024 * 1024
    # Web: the login throttle's counters ("memory://" is per process; "redis://host:6379/0" is shared by
    # every worker), the prefix of its keys, and how many proxies in front may set X-Forwarded-For/-Proto.
    ratelimit_storage_uri: str = "memory://"
    ratelimit_key_prefix: str = "kyodo"
    trusted_proxies: int = 0
    # The home page's add-friend QR code: a full URL, or built from the basic id (@xxxx); empty hides it.
    line_add_friend_url: str = ""
    # `kyodo scheduler`: the weekly digest's time (Asia/Tokyo, "fri 18:00" or "off"), and the lifetime of the
    # database lease that lets only one scheduler run the jobs (a crashed holder is replaced after this).
    digest_at: str = "fri 18:00"
    scheduler_lease_s: float = 30.0
    # Staff announcements that would reach more than this many residents need a second person's approval.
    approval_threshold: int = 1000
    # Events and places an organisation publishes wait for a staff member's approval when this is on.
    listing_approval: bool = False
    # Residents registered for an event hear about it the day before at this time (Asia/Tokyo).
    event_reminder_at: str = "18:00"
    # Survey results: a breakdown cell with fewer responses than this shows as "<N" (bot/survey_results.py).
    survey_min_cell: int = 5
    extra: dict = field(default_factory=dict)

    def with_(self, **kw) -> "Config":
        return replace(self, **kw)


def load_dotenv_if_present(path: Path | None = None) -> None:
    path = path or (Path.cwd() / ".env")
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def from_env(env: dict[str, str] | None = None) -> Config:
    if env is None:
        load_dotenv_if_present()
        env = dict(os.environ)
    demo = _bool(env.get("KYODO_DEMO"))
    cfg = Config(
        line_channel_secret=env.get("LINE_CHANNEL_SECRET", ""),
        line_channel_access_token=env.get("LINE_CHANNEL_ACCESS_TOKEN", ""),
        line_api_base_url=env.get("LINE_API_BASE_URL", Config.line_api_base_url).rstrip("/"),
        line_data_api_base_url=env.get("LINE_DATA_API_BASE_URL", Config.line_data_api_base_url).rstrip("/"),
        database_url=env.get("DATABASE_URL") or Config.database_url,
        secret_key=env.get("KYODO_SECRET_KEY", ""),
        demo=demo,
        city=env.get("KYODO_CITY", "odawara"),
        public_base_url=env.get("KYODO_PUBLIC_BASE_URL", Config.public_base_url).rstrip("/"),
        dispatch_workers=int(env.get("KYODO_DISPATCH_WORKERS", Config.dispatch_workers)),
        dispatch_mode=env.get("KYODO_DISPATCH_MODE", Config.dispatch_mode),
        worker_batch_size=max(1, int(env.get("KYODO_WORKER_BATCH_SIZE", Config.worker_batch_size))),
        delivery_threads=max(1, int(env.get("KYODO_DELIVERY_THREADS", Config.delivery_threads))),
        worker_loops=max(1, int(env.get("KYODO_WORKER_LOOPS", Config.worker_loops))),
        event_max_attempts=int(env.get("KYODO_EVENT_MAX_ATTEMPTS", Config.event_max_attempts)),
        fanout_rate_per_s=float(env.get("KYODO_FANOUT_RATE", Config.fanout_rate_per_s)),
        fanout_threads=max(1, int(env.get("KYODO_FANOUT_THREADS", Config.fanout_threads))),
        daily_push_cap=int(env.get("KYODO_DAILY_PUSH_CAP", Config.daily_push_cap)),
        ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or Config.ratelimit_storage_uri,
        ratelimit_key_prefix=env.get("RATELIMIT_KEY_PREFIX") or Config.ratelimit_key_prefix,
        trusted_proxies=_count(env.get("KYODO_TRUSTED_PROXIES"), "KYODO_TRUSTED_PROXIES"),
        line_add_friend_url=add_friend_url(env.get("LINE_ADD_FRIEND_URL", ""), env.get("LINE_BASIC_ID", "")),
        digest_at=env.get("KYODO_DIGEST_AT") or Config.digest_at,
        scheduler_lease_s=max(3.0, float(env.get("KYODO_SCHEDULER_LEASE_S") or Config.scheduler_lease_s)),
        approval_threshold=_count(env.get("KYODO_APPROVAL_THRESHOLD") or str(Config.approval_threshold),
                                  "KYODO_APPROVAL_THRESHOLD"),
        listing_approval=_bool(env.get("KYODO_LISTING_APPROVAL")),
        event_reminder_at=env.get("KYODO_EVENT_REMINDER_AT") or Config.event_reminder_at,
        survey_min_cell=max(1, _count(env.get("KYODO_SURVEY_MIN_CELL") or str(Config.survey_min_cell),
                                      "KYODO_SURVEY_MIN_CELL")),
        max_upload_bytes=_count(env.get("KYODO_MAX_UPLOAD_BYTES") or str(Config.max_upload_bytes),
                                "KYODO_MAX_UPLOAD_BYTES"),
    )
    if demo:
        # Demo mode talks only to the local emulator, so fixed throwaway secrets are safe.
        cfg = cfg.with_(
            line_channel_secret=cfg.line_channel_secret or "demo-channel-secret",
            line_channel_access_token=cfg.line_channel_access_token or "demo-access-token",
            secret_key=cfg.secret_key or "demo-secret-key-not-for-production",
            # The demo's "friend" is the emulator's chat page (LINE_API_BASE_URL points at the emulator).
            line_add_friend_url=cfg.line_add_friend_url or cfg.line_api_base_url + "/",
        )
    return cfg


def _count(value: str | None, name: str) -> int:
    try:
        n = int((value or "0").strip())
    except ValueError:
        raise ConfigError(f"kyodo: {name} must be a whole number (0 = no proxy in front), not {value!r}") from None
    if n < 0:
        raise ConfigError(f"kyodo: {name} must be 0 or more, not {n}")
    return n


def add_friend_url(url: str, basic_id: str) -> str:
    """LINE_ADD_FRIEND_URL as given, else the add-friend link of the basic id (with or without its "@")."""
    if url.strip():
        return url.strip()
    basic_id = basic_id.strip().lstrip("@")
    return f"https://line.me/R/ti/p/@{basic_id}" if basic_id else ""


def require_secrets(cfg: Config) -> None:
    missing = [
        name
        for name, value in (
            ("LINE_CHANNEL_SECRET", cfg.line_channel_secret),
            ("LINE_CHANNEL_ACCESS_TOKEN", cfg.line_channel_access_token),
            ("KYODO_SECRET_KEY", cfg.secret_key),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"kyodo: missing {', '.join(missing)} in the environment (or .env); set {'them' if len(missing) > 1 else 'it'}"
            ", or use KYODO_DEMO=1 for the local demo"
        )
