"""Prompt formats by name: `get_protocol("rrm")`."""

from reasonrm.errors import UnknownProtocolError
from reasonrm.protocols.base import Protocol
from reasonrm.protocols.direct import DirectProtocol
from reasonrm.protocols.rrm import RRMProtocol
from reasonrm.protocols.rubrics import DistilledRubricsProtocol, RubricsProtocol

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (RRMProtocol(), RubricsProtocol(), DistilledRubricsProtocol(), DirectProtocol())
}


def get_protocol(name: str | Protocol) -> Protocol:
    if isinstance(name, Protocol):
        return name
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UnknownProtocolError(
            f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}"
        ) from None


__all__ = ["PROTOCOLS", "Protocol", "get_protocol"]
