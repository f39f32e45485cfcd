"""The resolver cache behind `fd.sip.name`: the domain names the loaded rules compare
name fields with are resolved up front and again periodically (as Falco does), so that an
event only looks an address up in memory. Entries of a hosts file (by default
/etc/hosts) win over DNS, as the system resolver's `files` source does.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from mamori.runtime.agent.usage import values_compared
from mamori.runtime.events import DnsCache
from mamori.runtime.rules.ruleset import CompiledRule

NAME_FIELDS = ("fd.sip.name", "fd.cip.name", "fd.lip.name", "fd.rip.name")
Lookup = Callable[[str], list[str]]


def domains_in(rules: Iterable[CompiledRule]) -> set[str]:
    """Domain names compared with the name fields (values that are not addresses)."""
    rules = tuple(rules)
    names: set[str] = set()
    for field in NAME_FIELDS:
        for value in values_compared(rules, field):
            try:
                ipaddress.ip_address(value)
            except ValueError:
                if value and "." in value:
                    names.add(value.lower())
    return names


def read_hosts(path: Path) -> dict[str, list[str]]:
    """name → addresses from an /etc/hosts-style file (missing file: empty)."""
    table: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return table
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(fields[0]))
        except ValueError:
            continue
        for name in fields[1:]:
            table.setdefault(name.lower(), []).append(address)
    return table


def dns_lookup(name: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


class Resolver:
    """Keeps `cache` filled with the addresses of `domains`; `lookup` None: hosts file only."""

    def __init__(
        self,
        domains: Iterable[str],
        cache: DnsCache,
        *,
        hosts: Path = Path("/etc/hosts"),
        lookup: Lookup | None = dns_lookup,
    ) -> None:
        self.domains = sorted(set(domains))
        self.cache = cache
        self.hosts = hosts
        self.lookup = lookup
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, *, use_dns: bool = True) -> None:
        """Resolve every domain once and swap the cache's table in one assignment."""
        hosts = read_hosts(self.hosts)
        fresh = DnsCache()
        for name in self.domains:
            addresses = hosts.get(name)
            if addresses is None and use_dns and self.lookup is not None:
                addresses = self.lookup(name)
            fresh.add(name, addresses or [])
        self.cache.names = fresh.names

    def start(self, interval: float) -> None:
        """Fill the cache from the hosts file now; resolve with DNS on a daemon thread
        (start-up does not wait for slow lookups), then again every `interval` seconds."""
        self.refresh(use_dns=False)
        if not self.domains:
            return

        def loop() -> None:
            if self.lookup is not None:
                self.refresh()
            while not self._stop.wait(interval):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="mamori-resolver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
