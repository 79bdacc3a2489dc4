"""The root of every error Afterglow raises on purpose, and the ones people can correct."""


class AfterglowError(Exception):
    """Base of Afterglow's own errors; anything else escaping is a bug."""


class InputError(AfterglowError):
    """The request cannot be carried out as given; the message says why, for the sender."""


class ContentError(AfterglowError):
    """A content file (protocol, explainers, crisis patterns) is missing or invalid.

    The message names the file and the problem, in one line.
    """
