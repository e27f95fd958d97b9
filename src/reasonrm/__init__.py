"""reasonrm: reasoning reward models, LLM judges that think before they judge."""

from reasonrm.engines import Engine, load_engine
from reasonrm.errors import ReasonRMError
from reasonrm.judge import Judge
from reasonrm.protocols import PROTOCOLS, Protocol, get_protocol
from reasonrm.types import Comparison, JudgedSample, Judgment, Sample, SamplingParams, Verdict

__version__ = "0.1.0"

__all__ = [
    "PROTOCOLS",
    "Comparison",
    "Engine",
    "JudgedSample",
    "Judge",
    "Judgment",
    "Protocol",
    "ReasonRMError",
    "Sample",
    "SamplingParams",
    "Verdict",
    "get_protocol",
    "load_engine",
]
