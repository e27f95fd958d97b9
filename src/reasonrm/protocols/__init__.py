"""Prompt formats by name: `get_protocol("rrm")`, or from the user's template file:
`get_protocol("judges/mine.yaml")` (see `template`). A new built-in protocol is one file in
this package and one line here."""

from reasonrm.errors import UnknownProtocolError
from reasonrm.protocols.base import Protocol
from reasonrm.protocols.direct import DirectProtocol
from reasonrm.protocols.rrm import RRMProtocol
from reasonrm.protocols.rubrics import DistilledRubricsProtocol, RubricsProtocol
from reasonrm.protocols.template import TemplateProtocol, looks_like_file
from reasonrm.registry import Registry

PROTOCOLS: Registry[Protocol] = Registry("protocol", UnknownProtocolError)
for _protocol in (RRMProtocol(), RubricsProtocol(), DistilledRubricsProtocol(), DirectProtocol()):
    PROTOCOLS.add(_protocol.name, _protocol)


def get_protocol(name: str | Protocol) -> Protocol:
    """A protocol by name, or from a template file (a path ending .yaml, .yml or .json)."""
    if isinstance(name, Protocol):
        return name
    if looks_like_file(name):
        return TemplateProtocol.from_file(name)
    return PROTOCOLS.get(name)


__all__ = ["PROTOCOLS", "Protocol", "TemplateProtocol", "get_protocol"]
