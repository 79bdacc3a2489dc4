"""Reading what the detector needs about one patient, for the trend review and the chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.detection import Assessment, DetectorConfig, Episode, Observation, assess
from bot.domain.entities import EpisodeRecord, Infusion, Outcome
from storage import Storage

# The detector reads at most this many outcomes since the last infusion: its cost does not
# grow with a patient's history (the default plan has 35 check-ins per infusion).
WINDOW = 120


@dataclass(frozen=True, slots=True)
class DetectorInputs:
    """The last two infusions, the outcomes since the last one, and its episodes."""

    infusions: list[Infusion]
    outcomes: list[Outcome]
    episodes: list[EpisodeRecord]

    @property
    def last_infusion(self) -> datetime:
        """Return when the last infusion was given."""
        return self.infusions[-1].given_at


async def detector_inputs(
    storage: Storage, patient_id: int, config: DetectorConfig
) -> DetectorInputs | None:
    """Read a patient's detector inputs; None before any infusion."""
    infusions = await storage.infusions.recent(patient_id, limit=2)
    if not infusions:
        return None
    last = infusions[-1].given_at
    outcomes = await storage.answers.outcomes(
        patient_id, since=last, limit=WINDOW, first_answers=config.baseline_max_answers
    )
    episodes = await storage.episodes.since(patient_id, last)
    return DetectorInputs(infusions=infusions, outcomes=outcomes, episodes=episodes)


def assess_inputs(inputs: DetectorInputs, *, now: datetime, config: DetectorConfig) -> Assessment:
    """Run the detector over the inputs, as the trend review does."""
    return assess(
        infusions=[i.given_at for i in inputs.infusions],
        observations=[Observation(at=o.at, score=o.score) for o in inputs.outcomes],
        episodes=[
            Episode(kind=e.kind, started_at=e.detected_at, ended_at=e.ended_at)
            for e in inputs.episodes
        ],
        now=now,
        config=config,
    )
