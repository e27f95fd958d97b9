"""Prompt formats by name: `get_protocol("rrm")`. A new protocol is one file in this package
and one line here."""

from reasonrm.errors import UnknownProtocolError
from reasonrm.protocols.base import Protocol
from reasonrm.protocols.direct import DirectProtocol
from reasonrm.protocols.rrm import RRMProtocol
from reasonrm.protocols.rubrics import DistilledRubricsProtocol, RubricsProtocol
from reasonrm.registry import Registry

PROTOCOLS: Registry[Protocol] = Registry("protocol", UnknownProtocolError)
for _protocol in (RRMProtocol(), RubricsProtocol(), DistilledRubricsProtocol(), DirectProtocol()):
    PROTOCOLS.add(_protocol.name, _protocol)


def get_protocol(name: str | Protocol) -> Protocol:
    if isinstance(name, Protocol):
        return name
    return PROTOCOLS.get(name)


__all__ = ["PROTOCOLS", "Protocol", "get_protocol"]
