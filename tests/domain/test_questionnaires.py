"""The questionnaire engine: the shipped PHQ-9 and GAD-7, scoring, bands, one administration,
the data-file checks, and what a series of PHQ-9 totals means."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources

import pytest

from bot.domain.errors import ContentError
from bot.domain.questionnaire_outcomes import (
    QuestionnaireFinding,
    QuestionnaireFindingKind,
    questionnaire_finding,
    response_and_remission,
)
from bot.domain.questionnaires import (
    AnswerError,
    Progress,
    Questionnaire,
    QuestionnaireError,
    parse_questionnaire,
)

NOTICE = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)
LABELS = ("Not at all", "Several days", "More than half the days", "Nearly every day")
PHQ9_BANDS = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate")]
PHQ9_BANDS += [(15, 19, "moderately severe"), (20, 27, "severe")]
GAD7_BANDS = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]
SAFETY_INDEX = 8
FUNCTIONAL_INDEX = 9


def shipped(name: str) -> Questionnaire:
    text = resources.files("bot").joinpath("data", "questionnaires", f"{name}.toml")
    return parse_questionnaire(text.read_text(encoding="utf-8"), source=f"{name}.toml")


PHQ9 = shipped("phq9")
GAD7 = shipped("gad7")


def spread(total: int, items: int) -> dict[int, int]:
    """Answers to the first `items` items that add up to total, highest answers first."""
    answers = {}
    for index in range(items):
        answers[index] = min(3, total)
        total -= answers[index]
    assert total == 0
    return answers


def expected_label(bands: list[tuple[int, int, str]], total: int) -> str:
    [label] = [label for low, high, label in bands if low <= total <= high]
    return label


# The shipped questionnaires ------------------------------------------------------------


def test_the_phq9_file_has_the_standard_content() -> None:
    assert (PHQ9.id, PHQ9.title) == ("phq9", "PHQ-9")
    assert PHQ9.stem == (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert len(PHQ9.items) == 10
    assert [item.scored for item in PHQ9.items] == [True] * 9 + [False]
    assert PHQ9.items[0].text == "Little interest or pleasure in doing things"
    assert PHQ9.items[SAFETY_INDEX].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert (PHQ9.loinc_panel, PHQ9.loinc_total) == ("44249-1", "44261-6")
    assert [item.loinc for item in PHQ9.items] == [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
        "44258-2", "44252-5", "44253-3", "44260-8", "69722-7",
    ]  # fmt: skip
    assert (PHQ9.min_total, PHQ9.max_total) == (0, 27)
    assert [item.safety_threshold for item in PHQ9.items] == [None] * 8 + [0, None]


def test_the_gad7_file_has_the_standard_content() -> None:
    assert (GAD7.id, GAD7.title) == ("gad7", "GAD-7")
    assert GAD7.stem == (
        "Over the last 2 weeks, how often have you been bothered by the following problems?"
    )
    assert len(GAD7.items) == 7
    assert all(item.scored and not item.optional for item in GAD7.items)
    assert GAD7.items[0].text == "Feeling nervous, anxious, or on edge"
    assert (GAD7.loinc_panel, GAD7.loinc_total) == ("69737-5", "70274-6")
    assert [item.loinc for item in GAD7.items] == [
        "69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7",
    ]  # fmt: skip
    assert (GAD7.min_total, GAD7.max_total) == (0, 21)
    assert all(item.safety_threshold is None for item in GAD7.items)


@pytest.mark.parametrize("questionnaire", [PHQ9, GAD7], ids=["phq9", "gad7"])
def test_the_notice_is_exact(questionnaire: Questionnaire) -> None:
    assert questionnaire.notice == NOTICE


@pytest.mark.parametrize("questionnaire", [PHQ9, GAD7], ids=["phq9", "gad7"])
def test_every_scored_item_offers_the_standard_labels_scored_0_to_3(
    questionnaire: Questionnaire,
) -> None:
    assert [(o.score, o.label) for o in questionnaire.options] == list(enumerate(LABELS))
    for item in questionnaire.items:
        if item.scored:
            assert [(o.score, o.label) for o in item.options] == list(enumerate(LABELS))


# Scoring and bands ---------------------------------------------------------------------


@pytest.mark.parametrize("total", range(28))
def test_every_phq9_total_scores_and_bands(total: int) -> None:
    assert PHQ9.score(spread(total, 9)) == total
    assert PHQ9.band(total).label == expected_label(PHQ9_BANDS, total)


@pytest.mark.parametrize("total", range(22))
def test_every_gad7_total_scores_and_bands(total: int) -> None:
    assert GAD7.score(spread(total, 7)) == total
    assert GAD7.band(total).label == expected_label(GAD7_BANDS, total)


@pytest.mark.parametrize(("questionnaire", "total"), [(PHQ9, -1), (PHQ9, 28), (GAD7, 22)])
def test_an_impossible_total_has_no_band(questionnaire: Questionnaire, total: int) -> None:
    with pytest.raises(AnswerError, match="not a possible total"):
        questionnaire.band(total)


def test_scoring_needs_every_scored_item() -> None:
    answers = spread(10, 9)
    del answers[4]
    with pytest.raises(AnswerError, match="not answered: item index"):
        PHQ9.score(answers)


@pytest.mark.parametrize(
    ("answers", "problem"),
    [({**spread(0, 9), 0: 4}, "no option scored 4"), ({**spread(0, 9), 0: -1}, "scored -1")],
)
def test_scoring_refuses_an_answer_out_of_range(answers: dict[int, int], problem: str) -> None:
    with pytest.raises(AnswerError, match=problem):
        PHQ9.score(answers)


def test_scoring_refuses_an_unknown_item() -> None:
    with pytest.raises(AnswerError, match="no item at index 10"):
        PHQ9.score({**spread(0, 9), 10: 0})


def test_the_functional_question_is_optional_and_not_scored() -> None:
    functional = PHQ9.items[FUNCTIONAL_INDEX]
    assert functional.optional
    assert not functional.scored
    assert functional.safety_threshold is None
    assert [o.label for o in functional.options] == [
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    ]
    assert functional.text.startswith("If you checked off any problems, how difficult")
    assert PHQ9.score({**spread(12, 9), FUNCTIONAL_INDEX: 3}) == 12
    assert PHQ9.score(spread(12, 9)) == 12


@pytest.mark.parametrize(("value", "flagged"), [(0, False), (1, True), (2, True), (3, True)])
def test_item_9_is_a_safety_event_above_0(value: int, flagged: bool) -> None:
    assert PHQ9.safety_flag(SAFETY_INDEX, value) is flagged


def test_no_other_item_is_a_safety_item() -> None:
    for questionnaire in (PHQ9, GAD7):
        for index in range(len(questionnaire.items)):
            if questionnaire is PHQ9 and index == SAFETY_INDEX:
                continue
            assert not any(questionnaire.safety_flag(index, value) for value in range(4))


def test_the_safety_flag_refuses_an_impossible_answer() -> None:
    with pytest.raises(AnswerError):
        PHQ9.safety_flag(SAFETY_INDEX, 4)


# One administration --------------------------------------------------------------------


def test_a_new_administration_asks_the_first_item() -> None:
    progress = Progress(PHQ9)
    assert progress.index == 0
    assert progress.next_item == PHQ9.items[0]
    assert not progress.is_complete


def test_back_at_the_first_item_changes_nothing() -> None:
    assert Progress(PHQ9).back() == Progress(PHQ9)


def test_back_undoes_the_last_answer_and_the_item_can_be_answered_again() -> None:
    progress = Progress(PHQ9).answer(2).answer(3)
    back = progress.back()
    assert back.index == 1
    assert back.answers == (2,)
    assert back.next_item == PHQ9.items[1]
    assert back.answer(0).answers == (2, 0)


def test_answering_every_item_completes_the_administration() -> None:
    progress = Progress(PHQ9)
    for value in (1, 2, 3, 0, 1, 2, 3, 0, 0):
        progress = progress.answer(value)
    assert progress.next_item == PHQ9.items[FUNCTIONAL_INDEX]
    assert not progress.is_complete
    done = progress.skip()
    assert done.is_complete
    assert done.next_item is None
    assert done.index == len(PHQ9.items)
    assert PHQ9.score(done.answered()) == 12
    assert PHQ9.score(progress.answer(2).answered()) == 12
    with pytest.raises(AnswerError, match="already complete"):
        done.answer(0)
    with pytest.raises(AnswerError, match="already complete"):
        done.skip()


def test_back_from_the_end_returns_to_the_last_item() -> None:
    progress = Progress(GAD7, (0,) * 7)
    assert progress.is_complete
    assert progress.back().next_item == GAD7.items[6]


def test_a_required_item_cannot_be_skipped() -> None:
    with pytest.raises(AnswerError, match="is required"):
        Progress(PHQ9).skip()


def test_an_answer_must_be_one_of_the_options() -> None:
    with pytest.raises(AnswerError, match="no option scored 4"):
        Progress(GAD7).answer(4)


@pytest.mark.parametrize(
    ("answers", "problem"),
    [((0,) * 11, "more answers than items"), ((0, None), "cannot be skipped"), ((5,), "5")],
)
def test_stored_answers_that_do_not_fit_are_refused(
    answers: tuple[int | None, ...], problem: str
) -> None:
    with pytest.raises(AnswerError, match=problem):
        Progress(PHQ9, answers)


def test_answered_leaves_out_skipped_items() -> None:
    progress = Progress(PHQ9, (1,) * 9 + (None,))
    assert progress.answered() == dict.fromkeys(range(9), 1)


# The data-file checks ------------------------------------------------------------------

SOURCE = "clinic/mini.toml"
MINI = """\
id = "mini"
title = "Mini"
stem = "How often?"
notice = "Free to use."
loinc_panel = "44249-1"
loinc_total = "44261-6"

[[options]]
label = "No"
score = 0

[[options]]
label = "Yes"
score = 1

[[bands]]
low = 0
high = 0
label = "none"

[[bands]]
low = 1
high = 2
label = "some"

[[items]]
text = "First"

[[items]]
text = "Second"
safety_threshold = 0
"""


def test_the_small_file_is_valid() -> None:
    questionnaire = parse_questionnaire(MINI, source=SOURCE)
    assert [(b.low, b.high, b.label) for b in questionnaire.bands] == [
        (0, 0, "none"),
        (1, 2, "some"),
    ]
    assert questionnaire.safety_flag(1, 1)
    assert questionnaire.source == SOURCE


def test_bands_may_be_written_in_any_order() -> None:
    first, second = 'low = 0\nhigh = 0\nlabel = "none"', 'low = 1\nhigh = 2\nlabel = "some"'
    swapped = MINI.replace(first, "@").replace(second, first).replace("@", second)
    assert swapped.index("some") < swapped.index("none")
    assert [b.label for b in parse_questionnaire(swapped, source=SOURCE).bands] == ["none", "some"]


def test_items_may_have_their_own_options_instead_of_shared_ones() -> None:
    shared = MINI[MINI.index("[[options]]") : MINI.index("[[bands]]")]
    own = shared.replace("[[options]]", "[[items.options]]")
    text = MINI.replace(shared, "").replace('text = "First"\n', f'text = "First"\n{own}')
    text = text.replace("safety_threshold = 0\n", f"safety_threshold = 0\n{own}")
    questionnaire = parse_questionnaire(text, source=SOURCE)
    assert questionnaire.options == ()
    assert [o.label for o in questionnaire.items[1].options] == ["No", "Yes"]


NO_ITEMS = MINI[: MINI.index("[[items]]")]
NO_SHARED = MINI[: MINI.index("[[options]]")] + MINI[MINI.index("[[bands]]") :]
FIRST = 'text = "First"'
SECOND = 'text = "Second"'
EXTRA_BAND = '[[bands]]\nlow = 0\nhigh = 0\nlabel = "again"\n\n[[items]]'
Edit = tuple[str, str]
INVALID: dict[str, tuple[tuple[Edit, ...], str]] = {
    "gap": ((("low = 1\nhigh = 2", "low = 2\nhigh = 2"),), "no band covers 1 to 1"),
    "starts-above-0": ((("low = 0\nhigh = 0", "low = 1\nhigh = 1"),), "no band covers 0 to 0"),
    "overlap": (
        (("low = 1\nhigh = 2", "low = 0\nhigh = 2"),),
        "bands 'none' and 'some' overlap at 0",
    ),
    "same-band-twice": ((("[[items]]", EXTRA_BAND),), "bands 'none' and 'again' overlap at 0"),
    "too-high": ((("high = 2", "high = 3"),), "bands go up to 3, above the highest total 2"),
    "below-lowest-total": (
        (("score = 0", "score = 2"), ("safety_threshold = 0", "safety_threshold = 1")),
        "band 'none' starts at 0, below the lowest total 2",
    ),
    "too-low": ((("high = 2", "high = 1"),), "no band covers 2 to 2"),
    "inverted": (
        (("low = 1\nhigh = 2", "low = 2\nhigh = 1"),),
        "band 2: 'high' (1) is below 'low' (2)",
    ),
    "band-float": ((("low = 1", "low = 1.5"),), "band 2: 'low' must be a whole number"),
    "band-label": ((('label = "some"', 'label = ""'),), "band 2: 'label' must be a non-empty"),
    "band-key": (
        (('label = "none"', 'label = "none"\ncolour = "red"'),),
        "band 1: unknown key(s) colour",
    ),
    "top-key": (
        (('id = "mini"', 'id = "mini"\nversion = 2\nauthor = "x"'),),
        "unknown key(s) author, version",
    ),
    "item-key": (((FIRST, f"{FIRST}\nweight = 2"),), "item 1: unknown key(s) weight"),
    "option-key": (
        (('label = "Yes"', 'label = "Yes"\nhint = "y"'),),
        "[[options]] option 2: unknown key(s) hint",
    ),
    "same-score": ((("score = 1", "score = 0"),), "option scores must be different"),
    "negative-score": (
        (("score = 1", "score = -1"),),
        "option 2: 'score' must be a whole number, 0 or more",
    ),
    "bool-score": ((("score = 1", "score = true"),), "option 2: 'score' must be a whole number"),
    "text-score": ((("score = 1", 'score = "1"'),), "option 2: 'score' must be a whole number"),
    "same-label": ((('label = "Yes"', 'label = "No"'),), "option labels must be different"),
    "one-option": ((('[[options]]\nlabel = "Yes"\nscore = 1\n', ""),), "needs at least 2 options"),
    "no-items": (((MINI, NO_ITEMS),), "[[items]]: must be a non-empty list of tables"),
    "no-options": (((MINI, NO_SHARED),), "item 1: no options, and no shared [[options]]"),
    "same-text": (((SECOND, FIRST),), "two items have the same text"),
    "blank-text": (((FIRST, 'text = " "'),), "item 1: 'text' must be a non-empty string"),
    "none-scored": (
        ((FIRST, f"{FIRST}\nscored = false"), (SECOND, f"{SECOND}\nscored = false")),
        "no item is scored",
    ),
    "optional-scored": (
        ((FIRST, f"{FIRST}\noptional = true"),),
        "item 1: an optional item must have scored = false",
    ),
    "scored-text": (
        ((FIRST, f'{FIRST}\nscored = "no"'),),
        "item 1: 'scored' must be true or false",
    ),
    "safety-never": (
        (("safety_threshold = 0", "safety_threshold = 1"),),
        "item 2: 'safety_threshold' must be from 0 to 0",
    ),
    "loinc-check-digit": (
        (('loinc_total = "44261-6"', 'loinc_total = "44261-7"'),),
        "'loinc_total' 44261-7 has a wrong check digit",
    ),
    "loinc-shape": (
        (('loinc_total = "44261-6"', 'loinc_total = "PHQ"'),),
        "'loinc_total' must be a LOINC code",
    ),
    "same-loinc": (
        ((FIRST, f'{FIRST}\nloinc = "44250-9"'), (SECOND, f'{SECOND}\nloinc = "44250-9"')),
        "two items have the same LOINC code",
    ),
    "bad-id": ((('id = "mini"', 'id = "Mini Q"'),), "id 'Mini Q' must be lowercase"),
    "two-lines": ((('title = "Mini"', 'title = "Mini\\nQ"'),), "'title' must be one line"),
    "no-notice": ((('notice = "Free to use."\n', ""),), "'notice' must be a non-empty string"),
    "not-toml": ((("[[options]]", "[[options]"),), "not valid TOML"),
}


@pytest.mark.parametrize(("edits", "problem"), INVALID.values(), ids=INVALID.keys())
def test_an_invalid_file_is_refused_in_one_line_naming_it(
    edits: tuple[Edit, ...], problem: str
) -> None:
    text = MINI
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(text, source=SOURCE)
    message = str(info.value)
    assert isinstance(info.value, ContentError)
    assert message.startswith(f"{SOURCE}: ")
    assert "\n" not in message
    assert problem in message


# Response, remission and decline findings ----------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "latest", "response", "remission"),
    [
        (20, 10, True, False),  # exactly 50%
        (20, 11, False, False),
        (21, 10, True, False),
        (19, 10, False, False),
        (9, 4, True, True),
        (8, 4, True, True),
        (10, 5, True, False),
        (0, 0, False, True),  # nothing to drop from
        (None, 12, False, False),
        (None, 4, False, True),
        (4, 6, False, False),
    ],
)
def test_response_and_remission(
    baseline: int | None, latest: int, response: bool, remission: bool
) -> None:
    outcome = response_and_remission(baseline, latest)
    assert outcome == (response, remission)
    assert (outcome.response, outcome.remission) == (response, remission)


INFUSION = datetime(2025, 3, 1, 9, 0)


def day(n: int) -> datetime:
    return INFUSION + timedelta(days=n)


def finding(
    *totals: tuple[int, int], infusion_at: datetime | None = INFUSION
) -> QuestionnaireFinding | None:
    return questionnaire_finding([(day(n), total) for n, total in totals], infusion_at=infusion_at)


def test_a_rise_of_exactly_5_from_the_best_is_a_finding() -> None:
    assert finding((1, 6), (7, 3), (14, 8)) == QuestionnaireFinding(
        QuestionnaireFindingKind.RISE, at=day(14), since=day(7), best=3, latest=8
    )


def test_a_rise_of_4_is_not_a_finding() -> None:
    assert finding((7, 3), (14, 7)) is None


def test_crossing_from_9_to_10_is_a_finding() -> None:
    assert finding((7, 9), (14, 10)) == QuestionnaireFinding(
        QuestionnaireFindingKind.CROSSING, at=day(14), since=day(7), best=9, latest=10
    )


def test_staying_above_10_without_a_rise_of_5_is_not_a_finding() -> None:
    assert finding((7, 10), (14, 11)) is None
    assert finding((1, 7), (7, 10), (14, 11)) is None


def test_a_rise_is_reported_when_it_also_crosses() -> None:
    result = finding((7, 4), (14, 12))
    assert result is not None
    assert (result.kind, result.best, result.latest) == (QuestionnaireFindingKind.RISE, 4, 12)


def test_the_best_counts_only_totals_since_the_infusion() -> None:
    assert finding((-10, 2), (1, 6), (7, 9)) is None
    rise = finding((-10, 2), (1, 6), (7, 9), infusion_at=None)
    assert rise is not None
    assert (rise.kind, rise.since, rise.best) == (QuestionnaireFindingKind.RISE, day(-10), 2)


def test_a_total_at_the_infusion_time_counts_as_since_it() -> None:
    assert finding((0, 3), (7, 8)) is not None


def test_the_first_total_after_an_infusion_has_nothing_to_compare_with() -> None:
    assert finding((-3, 8), (7, 12)) is None
    assert finding((7, 20)) is None
    assert finding() is None


def test_the_rise_counts_from_the_last_time_the_best_was_seen() -> None:
    result = finding((1, 3), (4, 3), (7, 5), (14, 8))
    assert result is not None
    assert result.since == day(4)


def test_totals_are_read_in_time_order() -> None:
    result = finding((14, 8), (1, 3))
    assert result is not None
    assert (result.at, result.latest) == (day(14), 8)
