"""The resolver cache from hosts files (no DNS): domains come from the loaded rules."""

from __future__ import annotations

from pathlib import Path

from mamori.runtime.agent.resolver import Resolver, domains_in
from mamori.runtime.agent.trapset import rules_in_force
from mamori.runtime.events import DnsCache
from mamori.runtime.rules.ruleset import load_ruleset
from tests.runtime.helpers import ALL_FILES, rule_files


def test_rule_domains_resolve_from_the_hosts_file_and_refresh(tmp_path: Path) -> None:
    ruleset = load_ruleset(rule_files(*ALL_FILES))
    domains = domains_in(ruleset.rules)
    assert "ca.minexmr.com" in domains and "127.0.0.1" not in domains
    hosts = tmp_path / "hosts"
    hosts.write_text("# pools\n::1 ca.minexmr.com de.minexmr.com\n127.0.0.1 localhost\n")
    cache = DnsCache()
    resolver = Resolver(domains, cache, hosts=hosts, lookup=None)
    resolver.refresh()
    assert cache.lookup("::1") == {"ca.minexmr.com", "de.minexmr.com"}
    assert cache.lookup("127.0.0.1") == frozenset()  # localhost is no rule's domain
    hosts.write_text("127.0.0.2 ca.minexmr.com\n")
    resolver.start(interval=0.05)
    try:
        assert cache.lookup("127.0.0.2") == {"ca.minexmr.com"}
        assert cache.lookup("::1") == frozenset()
    finally:
        resolver.stop()


def test_only_rules_in_force_contribute_domains() -> None:
    ruleset = load_ruleset(rule_files(*ALL_FILES))
    assert domains_in(rules_in_force(ruleset, "Critical")) == set()  # the pool rule is off
