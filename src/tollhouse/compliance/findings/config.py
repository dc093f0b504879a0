"""The rules' parameters, government networks and names, declared egress networks and the
optional local ASN database: the shipped `rules.toml`, merged with an operator's file."""

from __future__ import annotations

import bisect
import csv
import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from tollhouse.compliance.findings.errors import InvalidRulesFile

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_networks(values: Any, where: str) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(str(v), strict=False) for v in values or ())
    except ValueError as exc:
        raise InvalidRulesFile(f"{where}: {exc}") from exc


@dataclass(frozen=True)
class AsnDatabase:
    """Networks → (ASN, name) from a local CSV of `cidr,asn,name` lines; longest match wins
    among the ranges that contain an address (searched by start address)."""

    ranges: tuple[tuple[int, int, int, str], ...]  # (version·2**128 + first, last, asn, name)

    @classmethod
    def load(cls, path: Path) -> AsnDatabase:
        rows: list[tuple[int, int, int, str]] = []
        try:
            with path.open(newline="", encoding="utf-8") as f:
                for line in csv.reader(f):
                    if not line or line[0].startswith("#"):
                        continue
                    net = ipaddress.ip_network(line[0].strip(), strict=False)
                    base = net.version << 128
                    rows.append(
                        (
                            base + int(net.network_address),
                            base + int(net.broadcast_address),
                            int(line[1]),
                            line[2].strip() if len(line) > 2 else "",
                        )
                    )
        except (OSError, ValueError, IndexError) as exc:
            raise InvalidRulesFile(f"ASN database {path}: {exc}") from exc
        return cls(tuple(sorted(rows)))

    def lookup(self, address_or_network: str) -> tuple[int, str] | None:
        try:
            net = ipaddress.ip_network(address_or_network, strict=False)
        except ValueError:
            return None
        point = (net.version << 128) + int(net.network_address)
        i = bisect.bisect_right(self.ranges, (point, 1 << 300, 0, ""))
        best: tuple[int, str] | None = None
        best_size = 1 << 300
        for first, last, asn, name in reversed(self.ranges[max(0, i - 64) : i]):
            if first <= point <= last and last - first < best_size:
                best, best_size = (asn, name), last - first
        return best


@dataclass(frozen=True)
class RulesConfig:
    raw: dict[str, Any]
    asn: AsnDatabase | None = None

    def params(self, rule: str) -> dict[str, Any]:
        value = self.raw.get("rules", {}).get(rule, {})
        return dict(value) if isinstance(value, Mapping) else {}

    def clause_section(self, rule: str) -> str | None:
        clauses = self.raw.get("clauses", {})
        found = clauses.get(rule) or clauses.get(rule.split(".", 1)[0])
        return None if found is None else str(found)

    @cached_property
    def government_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.raw.get("government", {}).get("networks"), "government.networks")

    @cached_property
    def government_names(self) -> re.Pattern[str] | None:
        names = [str(n).strip().lower() for n in self.raw.get("government", {}).get("names", ())]
        names = [n for n in names if n]
        if not names:
            return None
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        return re.compile(rf"(?<![\w])({alternatives})(?![\w])", re.IGNORECASE)

    @cached_property
    def surveillance(self) -> dict[str, Any]:
        return dict(self.raw.get("surveillance", {}))

    @cached_property
    def declared_networks(self) -> dict[str, tuple[Network, ...]]:
        out: dict[str, tuple[Network, ...]] = {}
        for entry in self.raw.get("declared_networks", ()):
            org = str(entry.get("org", ""))
            out[org] = out.get(org, ()) + parse_networks(
                entry.get("cidrs"), f"declared_networks {org}"
            )
        return out


def in_networks(network: str, networks: tuple[Network, ...]) -> bool:
    """Whether the client network (a /24 or /48, or an address) lies in one of `networks`."""
    if not networks:
        return False
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
    return any(net.version == n.version and net.subnet_of(n) for n in networks)  # type: ignore[arg-type]


def shipped_rules_text() -> str:
    return (
        resources.files("tollhouse.compliance.findings").joinpath("rules.toml").read_text("utf-8")
    )


def load_rules(path: Path | None = None, asn_database: Path | None = None) -> RulesConfig:
    """The shipped parameters, with the file at `path` (if any) merged over them."""
    raw = tomllib.loads(shipped_rules_text())
    if path is not None:
        try:
            over = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidRulesFile(f"cannot read rules file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InvalidRulesFile(f"rules file {path} is not valid TOML: {exc}") from exc
        raw = _merge(raw, over)
    config = RulesConfig(raw, AsnDatabase.load(asn_database) if asn_database else None)
    config.government_networks  # noqa: B018 - bad CIDRs fail here, not mid-evaluation
    config.declared_networks  # noqa: B018
    return config
