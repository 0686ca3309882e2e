"""Who the client really is: the socket peer, or what a trusted proxy says it is."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from .config import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Loopback and RFC 1918 / RFC 4193 private ranges: the only ones local bypass accepts.
_LOCAL = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")
)


def parse_ip(value: str | None) -> Address | None:
    """An address from text, IPv4-mapped IPv6 folded to IPv4; None when unparsable."""
    if not value:
        return None
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address | None, proxies: Sequence[Network]) -> bool:
    return addr is not None and any(addr.version == n.version and addr in n for n in proxies)


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """The resolved client address and whether the original request was https."""

    address: Address | None
    https: bool

    @property
    def ip(self) -> str:
        """The address as text ('' when unknown)."""
        return str(self.address) if self.address is not None else ""

    @property
    def is_local(self) -> bool:
        """Loopback or private (never true for an unknown address)."""
        a = self.address
        return a is not None and any(a.version == n.version and a in n for n in _LOCAL)


def resolve_client(
    *,
    peer: str | None,
    scheme: str,
    forwarded_for: str | None,
    forwarded_proto: str | None,
    trusted_proxies: Sequence[Network],
) -> ClientInfo:
    """Walk X-Forwarded-For from the right while the hop is a trusted proxy.

    Headers are read only when the direct peer is trusted; every other header naming a
    client (X-Real-IP, Forwarded, CF-Connecting-IP, True-Client-IP ...) is ignored.
    """
    addr = parse_ip(peer)
    https = scheme == "https"
    if not _trusted(addr, trusted_proxies):
        return ClientInfo(address=addr, https=https)
    if forwarded_proto:
        https = forwarded_proto.split(",")[0].strip().lower() == "https"
    if forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",")]
        for hop in reversed(hops):
            hop_addr = parse_ip(hop)
            if hop_addr is None:
                # A garbled hop: the client is unknown (never "local" by way of the proxy).
                return ClientInfo(address=None, https=https)
            addr = hop_addr
            if not _trusted(hop_addr, trusted_proxies):
                break
    return ClientInfo(address=addr, https=https)
