"""Reading the content files: the protocol, the explainers and the crisis patterns.

The domain parses and validates text; this module finds the files (the shipped ones in
the package, or the clinic's own), reads them, and names them in every error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from bot.domain.crisis import (
    ACTED_MODEL,
    SIGNAL_MODEL,
    URGENT_MODEL,
    CrisisDetector,
    CrisisNet,
    CrisisPatternError,
)
from bot.domain.explainers import Explainer, ExplainerError, ExplainerLibrary, assemble, parse_text
from bot.domain.protocol import Protocol, ProtocolError, check_schedule, parse_protocol
from bot.domain.questionnaires import Questionnaire, QuestionnaireError, parse_questionnaire

SHIPPED_PROTOCOL = "built-in protocol"
SHIPPED_PATTERNS = "bot/data/crisis_patterns.toml"


@dataclass(frozen=True, slots=True)
class Content:
    """What the bot is configured with besides its settings: validated at start-up."""

    protocol: Protocol
    library: ExplainerLibrary
    net: CrisisNet
    questionnaires: Mapping[str, Questionnaire]


def load_content(*, protocol: Path | None = None, explainers: Path | None = None) -> Content:
    """Load and cross-check the protocol, the explainers, questionnaires and crisis patterns."""
    loaded_protocol = load_protocol(protocol)
    library = load_explainers(explainers)
    check_schedule(loaded_protocol, library)
    questionnaires = load_questionnaires()
    for name in loaded_protocol.questionnaires.planned:
        if name not in questionnaires:
            raise ProtocolError(
                f"{loaded_protocol.source}: [questionnaires] planned names {name!r}, which is"
                f" not a questionnaire (known: {', '.join(sorted(questionnaires))})"
            )
    return Content(
        protocol=loaded_protocol,
        library=library,
        net=load_crisis_net(),
        questionnaires=questionnaires,
    )


def load_questionnaires() -> Mapping[str, Questionnaire]:
    """Load the questionnaires shipped with the package (PHQ-9, GAD-7), by id."""
    loaded: dict[str, Questionnaire] = {}
    folder = _shipped("questionnaires")
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not entry.name.endswith(".toml"):
            continue
        source = f"bot/data/questionnaires/{entry.name}"
        questionnaire = parse_questionnaire(entry.read_text(encoding="utf-8"), source=source)
        if questionnaire.id in loaded:
            raise QuestionnaireError(f"{source}: id {questionnaire.id!r} is used twice")
        loaded[questionnaire.id] = questionnaire
    return loaded


def _shipped(*parts: str) -> Traversable:
    return resources.files("bot").joinpath("data", *parts)


def default_protocol_text() -> str:
    """Return the text of the protocol shipped with the package."""
    return _shipped("protocol.toml").read_text(encoding="utf-8")


def load_protocol(path: Path | None = None) -> Protocol:
    """Load and validate a protocol file, or the shipped default when path is None."""
    if path is None:
        return parse_protocol(default_protocol_text(), source=SHIPPED_PROTOCOL)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ProtocolError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ProtocolError(f"{path}: not UTF-8 text") from None
    return parse_protocol(text, source=str(path))


def shipped_explainers() -> Traversable:
    """Return the explainer folder shipped with the package."""
    return _shipped("explainers")


def load_explainers(folder: Path | None = None) -> ExplainerLibrary:
    """Load and validate every *.toml file in folder, or the shipped set when folder is None."""
    where: Traversable = shipped_explainers() if folder is None else folder
    if not where.is_dir():
        raise ExplainerError(f"{where}: explainer folder not found")
    files = sorted(
        (
            entry
            for entry in where.iterdir()
            if entry.name.lower().endswith(".toml")
            and not entry.name.startswith(".")
            and entry.is_file()
        ),
        key=lambda entry: entry.name,
    )
    if not files:
        raise ExplainerError(f"{where}: no explainer files (*.toml) in the folder")
    return assemble([(_read_explainer(entry), str(entry)) for entry in files])


def _read_explainer(entry: Traversable) -> Explainer:
    source = str(entry)
    try:
        raw = entry.read_text(encoding="utf-8")
    except OSError as err:
        raise ExplainerError(f"{source}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ExplainerError(f"{source}: not UTF-8 text") from None
    return parse_text(raw, source=source, stem=entry.name[: -len(".toml")])


def load_crisis_net() -> CrisisNet:
    """Load the layered crisis net shipped with the package: patterns, rules and models."""
    return CrisisNet.from_texts(
        patterns=_shipped("crisis_patterns.toml").read_text(encoding="utf-8"),
        rules=_shipped("crisis_net.toml").read_text(encoding="utf-8"),
        model=_shipped("models", SIGNAL_MODEL).read_text(encoding="utf-8"),
        urgent_model=_shipped("models", URGENT_MODEL).read_text(encoding="utf-8"),
        acted_model=_shipped("models", ACTED_MODEL).read_text(encoding="utf-8"),
        source="bot/data",
    )


def load_crisis_detector(path: Path | None = None) -> CrisisDetector:
    """Load the crisis patterns file, or the shipped one when path is None."""
    if path is None:
        text = _shipped("crisis_patterns.toml").read_text(encoding="utf-8")
        return CrisisDetector.from_text(text, source=SHIPPED_PATTERNS)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CrisisPatternError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise CrisisPatternError(f"{path}: not UTF-8 text") from None
    return CrisisDetector.from_text(text, source=str(path))
