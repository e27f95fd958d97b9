"""Errors a user can cause. The CLI prints these as one line; anything else is a bug."""


class ReasonRMError(Exception):
    """Base class: the message says what to fix."""


class InputError(ReasonRMError):
    """A comparison, a file row or an argument is malformed."""


class UnknownProtocolError(ReasonRMError):
    pass


class UnknownBenchmarkError(InputError):
    """A benchmark name that is not registered."""


class UnknownModelError(ReasonRMError):
    pass


class UnknownEngineError(ReasonRMError):
    pass


class ModelFetchError(ReasonRMError):
    """Weights could not be downloaded or assembled."""


class CorruptModelError(ReasonRMError):
    """Weights on disk do not match the registry's sha256."""


class ContextLengthError(ReasonRMError):
    """A prompt (plus the generation budget) does not fit the model's context."""


class EngineUnavailableError(ReasonRMError):
    """The engine's server cannot be reached or keeps failing."""


class EngineError(ReasonRMError):
    """The engine answered a request with an error."""


class MissingDependencyError(ReasonRMError):
    """An optional extra is not installed."""


class ScoringUnsupportedError(ReasonRMError):
    """Verdict probabilities were asked of an engine, server or protocol that has none."""


class LabelTokenError(ReasonRMError):
    """A protocol's verdict labels do not tokenize as one token each for this model."""


class CalibrationError(InputError):
    """A calibration file is malformed or was made for another model or protocol."""
