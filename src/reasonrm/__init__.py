"""reasonrm: reasoning reward models, LLM judges that think before they judge."""

from reasonrm.best_of_n import BestOfN, best_of_n
from reasonrm.engines import Engine, load_engine
from reasonrm.errors import ReasonRMError
from reasonrm.judge import Judge
from reasonrm.protocols import PROTOCOLS, Protocol, get_protocol
from reasonrm.ranking import Ranker, Ranking, rank
from reasonrm.rewards import TournamentReward
from reasonrm.runs import ResumableRun, judge_file, rank_file
from reasonrm.specs import EngineSpec, JudgeSpec
from reasonrm.types import Comparison, JudgedSample, Judgment, Sample, SamplingParams, Verdict

__version__ = "0.1.0"

__all__ = [
    "PROTOCOLS",
    "BestOfN",
    "Comparison",
    "Engine",
    "EngineSpec",
    "JudgedSample",
    "Judge",
    "JudgeSpec",
    "Judgment",
    "Protocol",
    "Ranker",
    "Ranking",
    "ReasonRMError",
    "ResumableRun",
    "Sample",
    "SamplingParams",
    "TournamentReward",
    "Verdict",
    "best_of_n",
    "get_protocol",
    "judge_file",
    "load_engine",
    "rank",
    "rank_file",
]
