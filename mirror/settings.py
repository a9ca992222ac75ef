"""Typed settings, one section per component.

Every setting has a type, a default and a help string. Values are layered:
built-in default < the home's ``openmirror.toml`` < environment (``OPENMIRROR_<SECTION>_<NAME>``)
< command-line flags. ``Settings.origin(key)`` tells where the effective value came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mirror.errors import ConfigError

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "k": KiB, "m": MiB, "g": GiB, "t": TiB,
    "kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int) -> int:
    """Parse ``300KB``, ``20GB``, ``20GiB`` or a plain byte count into bytes."""
    if isinstance(text, int):
        if text < 0:
            raise ConfigError(f"a size cannot be negative: {text}")
        return text
    m = _SIZE_RE.match(str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise ConfigError(f"not a size: {text!r}",
                          hint="use bytes or a unit: 300MiB, 20GiB (KB, MB, GB are powers of 1000)")
    return int(float(m.group(1)) * _UNITS[unit])


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"not a boolean: {value!r}")


def _to_auto_bool(value: Any) -> str | bool:
    """``"auto"``, or a boolean (``true``/``false`` and their spellings)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return _to_bool(value)
    except ConfigError:
        raise ConfigError(f"not auto, true or false: {value!r}") from None


def _to_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _convert(kind: str) -> Callable[[Any], Any]:
    converters: dict[str, Callable[[Any], Any]] = {
        "str": str,
        "int": lambda v: int(v) if not isinstance(v, bool) else _fail(v, "int"),
        "float": float,
        "bool": _to_bool,
        "auto-bool": _to_auto_bool,
        "size": parse_size,
        "list": _to_list,
    }
    return converters[kind]


def _fail(value: Any, kind: str) -> Any:
    raise ConfigError(f"not a {kind}: {value!r}")


@dataclass(frozen=True)
class Setting:
    section: str
    name: str
    kind: str  # str | int | float | bool | auto-bool | size | list
    default: Any
    help: str
    secret: bool = False        # a token or credential: ``config show`` masks it

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env(self) -> str:
        return f"OPENMIRROR_{self.section}_{self.name}".upper()

    def convert(self, value: Any) -> Any:
        try:
            return _convert(self.kind)(value)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {self.key}: not a {self.kind}: {value!r}") from exc


SETTINGS: tuple[Setting, ...] = (
    # store
    Setting("store", "profile", "str", "unixfs-v1-2025",
            "UnixFS import profile for new content: unixfs-v1-2025 or unixfs-v0-2015."),
    Setting("store", "ipfs_api", "str", "",
            "Kubo RPC API URL (e.g. http://127.0.0.1:5001); when set, content is also added and pinned there."),
    Setting("store", "ipfs_api_auth", "str", "",
            "Authorization header value for the Kubo RPC API (e.g. 'Bearer TOKEN'); empty for none.", secret=True),
    # fetch
    Setting("fetch", "user_agent", "str", "openmirror/0.1 (+https://github.com/openmirror/openmirror)",
            "User-Agent sent with every request."),
    Setting("fetch", "contact", "str", "",
            "Contact (e-mail or URL) appended to the User-Agent so site owners can reach you."),
    Setting("fetch", "per_host", "int", 2, "Requests in flight per host."),
    Setting("fetch", "delay", "float", 0.5, "Minimum seconds between request starts to one host."),
    Setting("fetch", "concurrency", "int", 16, "Requests in flight in all."),
    Setting("fetch", "max_bytes", "size", 512 * MiB, "Largest decoded body accepted; larger ones fail."),
    Setting("fetch", "connect_timeout", "float", 15.0, "Seconds to wait for a connection."),
    Setting("fetch", "read_timeout", "float", 60.0, "Seconds to wait for the next bytes of a response."),
    Setting("fetch", "total_timeout", "float", 1800.0, "Seconds one request may take in all."),
    Setting("fetch", "max_redirects", "int", 10, "Redirects followed before a fetch fails."),
    Setting("fetch", "retries", "int", 4, "Attempts after the first for retryable failures (at most 2 "
            "for a host that cannot be connected to; none for a name that does not resolve)."),
    Setting("fetch", "obey_robots", "bool", True, "Obey robots.txt (including Crawl-delay)."),
    Setting("fetch", "limit_rate", "size", 0,
            "Bytes per second a harvest downloads at most, all requests together (e.g. 500KiB); 0: no "
            "limit. A large file then takes longer: fetch.total_timeout still applies to each request."),
    Setting("fetch", "backoff", "float", 1.0,
            "Base seconds of the exponential backoff (with jitter) between retries."),
    Setting("fetch", "max_retry_after", "float", 300.0,
            "Longest Retry-After (seconds) honoured; longer waits are cut to this."),
    Setting("fetch", "allowed_networks", "list", [],
            "Non-global networks a harvest may reach without --allow-private (e.g. 10.20.0.0/16 "
            "for an intranet repository); other loopback, private and link-local addresses stay refused."),
    # node
    Setting("node", "listen", "str", "127.0.0.1:8470", "HOST:PORT the node serves on."),
    Setting("node", "public_url", "str", "",
            "URL other nodes and IPFS clients use to reach this one (--public-url); default http://LISTEN, "
            "or for a wildcard listen address (0.0.0.0, ::) the address this machine's traffic leaves from."),
    Setting("node", "peers", "list", [], "Peer URLs to sync with at start."),
    Setting("node", "sync_interval", "float", 60.0, "Seconds between periodic syncs with each peer."),
    Setting("node", "accept_authors", "list", [],
            "Accept feed entries only from these author keys; empty accepts any valid signature."),
    Setting("node", "admin_token", "str", "",
            "Another token accepted for administrative API calls, beside the one in the home's "
            "admin.token (created on first use, mode 0600); empty: only that one.", secret=True),
    Setting("node", "storage", "size", 10 * GiB,
            "Bytes of other nodes' content this node may hold (your own content is always kept)."),
    Setting("node", "author_quota", "size", 64 * MiB,
            "Bytes of signed entries kept for one author this node has not chosen (not its own key, "
            "not in node.accept_authors, not a configured peer's key); past it that author is no "
            "longer pulled and status says so. 0 for no limit."),
    Setting("node", "index_quota", "size", 1 * GiB,
            "Bytes of signed entries kept for all the authors this node has not chosen together; "
            "past it none of them is pulled further. 0 for no limit."),
    Setting("node", "holdings_quota", "size", 1 * GiB,
            "Bytes the holdings announcements of other nodes may take in the index (about 192 per "
            "content claimed); past it the silent, distrusted and unvetted holders are dropped "
            "first, and a newcomer is refused when only holders known before it are left. 0 for "
            "no limit."),
    Setting("node", "copies", "int", 3, "Target number of live copies of every content in the network."),
    Setting("node", "collections", "list", [], "Replicate only these collections; empty for all."),
    Setting("node", "licenses", "list", [], "Replicate only content under these SPDX ids; empty for all."),
    Setting("node", "upload_rate", "size", 0, "Bytes per second this node serves to others; 0 for no limit."),
    Setting("node", "holder_timeout", "float", 600.0,
            "Seconds after which a silent holder no longer counts as a live copy."),
    Setting("node", "audit_interval", "float", 300.0, "Seconds between audits of other holders."),
    Setting("node", "peer_timeout", "float", 120.0,
            "Seconds one request to a peer may take in all (connect 10 s, between bytes 30 s at most)."),
    Setting("node", "rate_limit", "float", 20.0,
            "Requests per second the node serves to one client address (notifies: a quarter), and four "
            "times that to one /24 (IPv4) or /64 (IPv6) prefix; 0 for no limit."),
    Setting("node", "rate_burst", "int", 100,
            "Requests one client address may make at once before rate_limit applies."),
    Setting("node", "backoff", "float", 5.0,
            "Seconds a failing peer is left alone after its first failure (doubling)."),
    Setting("node", "backoff_max", "float", 3600.0, "Longest a failing peer is left alone, in seconds."),
    Setting("node", "allow_private_addresses", "auto-bool", "auto",
            "Contact loopback, private and other non-global addresses learned from the network (peer "
            "exchange, notifies, holder announcements, audits): auto (only while node.listen is a "
            "loopback address), true or false. Peers you configure are always contacted."),
    Setting("node", "allowed_networks", "list", [],
            "Non-global networks the node may contact even when node.allow_private_addresses is "
            "false (e.g. 10.20.0.0/16 for an intranet of nodes); other non-global addresses stay refused."),
    Setting("node", "header_timeout", "float", 15.0,
            "Seconds a client has to send a request's headers (from connecting, or from the previous "
            "answer on a kept-alive connection); idle connections are closed after it too."),
    Setting("node", "body_timeout", "float", 30.0,
            "Seconds a client has to send a request body, and the longest it may stall while reading "
            "an answer, before the connection is closed."),
    Setting("node", "max_connections", "int", 512,
            "Open client connections the node accepts in all; more are answered 503 and closed. 0: no limit."),
    Setting("node", "max_connections_per_address", "int", 64,
            "Open connections one client address may have (four times this per /24 or /64 prefix); "
            "0 for no limit (behind a reverse proxy every client has the proxy's address)."),
    Setting("node", "peer_exchange", "bool", True,
            "Learn new peers from the peer lists of the nodes this one syncs with."),
    Setting("node", "push", "bool", True,
            "Push this node's holdings announcements to its peers as soon as what it holds changes, "
            "and introduce volunteers that joined through it to its other peers; false: peers learn "
            "both at their next sync (every node.sync_interval)."),
    Setting("node", "name", "str", "",
            "Name of this node on its web pages and in OAI-PMH Identify; default 'openmirror node ID'."),
    Setting("node", "admin_email", "str", "",
            "Administrator's e-mail address given in OAI-PMH Identify (adminEmail)."),
    Setting("node", "oai_page_size", "int", 100,
            "Records (or identifiers) per OAI-PMH list response; the rest follows by resumption token."),
    Setting("node", "ipni_announce", "list", [],
            "IPNI indexer URLs told of each new advertisement (PUT URL/announce), e.g. "
            "https://cid.contact; empty announces nowhere (indexers may still poll)."),
    Setting("node", "gateway_in_flight", "int", 512,
            "Requests under /ipfs/ answered at once; past it clients get 429 with Retry-After (0: no cap)."),
    Setting("node", "gateways", "list", [],
            "Trustless IPFS gateways get and replication may also fetch blocks from (every block "
            "verified), e.g. https://trustless-gateway.link; empty asks only openmirror peers."),
    # pinning
    Setting("pinning", "endpoint", "str", "", "IPFS Pinning Service API endpoint for remote pinning."),
    Setting("pinning", "token", "str", "", "Bearer token for the pinning service.", secret=True),
    Setting("pinning", "collections", "list", [], "Collections to pin remotely."),
)

_BY_KEY = {s.key: s for s in SETTINGS}
MASK = "********"


class _Section:
    def __init__(self, settings: "Settings", section: str) -> None:
        self._settings = settings
        self._section = section

    def __getattr__(self, name: str) -> Any:
        return self._settings.get(f"{self._section}.{name}")


class Settings:
    """Effective settings with the origin of every value."""

    def __init__(self, file: Path | None = None, env: dict[str, str] | None = None) -> None:
        self._values: dict[str, Any] = {}
        self._origins: dict[str, str] = {}
        for s in SETTINGS:
            self._values[s.key] = s.default
            self._origins[s.key] = "default"
        if file is not None and file.exists():
            self._load_file(file)
        environ = os.environ if env is None else env
        for s in SETTINGS:
            if s.env in environ:
                self._values[s.key] = s.convert(environ[s.env])
                self._origins[s.key] = f"env {s.env}"

    def _load_file(self, file: Path) -> None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {file}: {exc}") from exc
        for section, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{file}: [{section}] must be a table")
            for name, value in table.items():
                key = f"{section}.{name}"
                if key not in _BY_KEY:
                    raise ConfigError(f"{file}: unknown setting {key}",
                                      hint="openmirror config show lists every setting")
                self._values[key] = _BY_KEY[key].convert(value)
                self._origins[key] = f"file {file.name}"

    def get(self, key: str) -> Any:
        if key not in self._values:
            raise ConfigError(f"unknown setting {key}")
        return self._values[key]

    def set(self, key: str, value: Any, origin: str = "flag") -> None:
        """Override one setting (a command-line flag); ``None`` leaves it alone."""
        if value is None:
            return
        if key not in _BY_KEY:
            raise ConfigError(f"unknown setting {key}")
        self._values[key] = _BY_KEY[key].convert(value)
        self._origins[key] = origin

    def origin(self, key: str) -> str:
        return self._origins[key]

    def __getattr__(self, section: str) -> _Section:
        if section.startswith("_"):
            raise AttributeError(section)
        return _Section(self, section)

    def rows(self, *, show_secrets: bool = False) -> list[dict[str, Any]]:
        """Every setting with its value, origin and help; a secret that is set shows as
        ``MASK`` unless SHOW_SECRETS."""
        return [{"key": s.key, "value": self._shown(s, show_secrets), "origin": self._origins[s.key],
                 "help": s.help} for s in SETTINGS]

    def _shown(self, setting: Setting, show_secrets: bool) -> Any:
        value = self._values[setting.key]
        return MASK if setting.secret and value and not show_secrets else value


def template() -> str:
    """A commented TOML file listing every setting with its default."""
    lines = ["# openmirror settings. Every key is optional; defaults are shown commented out.", ""]
    section = None
    for s in SETTINGS:
        if s.section != section:
            section = s.section
            lines += ["", f"[{section}]"]
        lines.append(f"# {s.help}")
        lines.append(f"# {s.name} = {_toml_value(s.default)}")
    return "\n".join(lines).lstrip() + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def markdown() -> str:
    """docs/settings.md: every setting with its type, default, environment variable and help."""
    lines = ["# Settings", "",
             "Generated from `mirror/settings.py` (`python -m mirror.settings > docs/settings.md`); a test keeps",
             "it in step. Values are layered: default < the home's `openmirror.toml` < environment < flags.",
             "`openmirror config show` prints the effective values and where each came from."]
    section = None
    for s in SETTINGS:
        if s.section != section:
            section = s.section
            lines += ["", f"## [{section}]", "", "| key | type | default | environment | meaning |",
                      "|---|---|---|---|---|"]
        default = _toml_value(s.default).replace("|", "\\|")
        lines.append(f"| `{s.key}` | {s.kind} | `{default}` | `{s.env}` | {s.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
