"""Explainers: the shipped set, its wording, loading, validation and navigation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.explainers import (
    DEFAULT_SCHEDULE,
    GROUPS,
    MAX_TEXT,
    MAX_TITLE,
    PLACEHOLDER_STAND_IN,
    Explainer,
    ExplainerError,
    ExplainerLibrary,
)
from bot.runtime.content import load_explainers
from bot.runtime.settings import DEFAULT_CRISIS_LINE, DEFAULT_EMERGENCY_NUMBER

SEED_NAME = "why-ketamine-requires-ongoing-treatment.txt"
SEED_CANDIDATES = (
    Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / SEED_NAME,
    Path(__file__).resolve().parents[2] / "shared" / "seeds" / SEED_NAME,
)
REMINDER = "General information only, not medical advice."
MENU_ORDER = [
    "how-ketamine-works",
    "why-it-fades",
    "fading-connections",
    "fading-life-unchanged",
    "fading-tolerance",
    "fading-brain-balance",
    "what-helps",
    "helps-therapy",
    "helps-daily-habits",
    "helps-maintenance",
    "helps-other-treatments",
    "bridge-hard-chapter",
    "after-infusion",
]
# Every topic the issue asks for, with the words its explainer must talk about.
TOPICS = {
    "how-ketamine-works": ("glutamate", "nmda", "links"),
    "fading-connections": ("links", "weaken"),
    "fading-life-unchanged": ("cannot change",),
    "fading-tolerance": ("tolerance",),
    "fading-brain-balance": ("balance", "before treatment"),
    "helps-therapy": ("therap",),
    "helps-daily-habits": ("sleep", "movement", "meals"),
    "helps-maintenance": ("maintenance infusions",),
    "helps-other-treatments": ("medicines", "stimulation"),
    "bridge-hard-chapter": ("bridge", "not be needed"),
    "after-infusion": ("contact the clinic", "not for emergencies", "{emergency_number}"),
}


@pytest.fixture(scope="module")
def library() -> ExplainerLibrary:
    return load_explainers()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "").replace("'", ""))


def write(folder: Path, name: str, **fields: object) -> Path:
    values: dict[str, object] = {
        "id": name,
        "title": "A title",
        "group": "why-it-fades",
        "order": 1,
        "text": f"Some words.\n\n{REMINDER}",
    }
    values.update(fields)
    lines = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, str):
            lines.append(f"{key} = '''\n{value}'''" if "\n" in value else f"{key} = {value!r}")
        else:
            lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def content_error(folder: Path) -> str:
    with pytest.raises(ExplainerError) as info:
        load_explainers(folder)
    return str(info.value)


# The shipped set -------------------------------------------------------------------------


def test_shipped_set_loads_in_menu_order(library: ExplainerLibrary) -> None:
    assert library.ids() == MENU_ORDER
    assert [item.id for item in library.ordered()] == MENU_ORDER
    assert len(library) == len(MENU_ORDER)


def test_shipped_groups_follow_the_group_order(library: ExplainerLibrary) -> None:
    groups = [item.group for item in library.ordered()]

    assert sorted(groups, key=GROUPS.index) == groups
    assert set(groups) == set(GROUPS)


@pytest.mark.parametrize(("explainer_id", "expected"), sorted(TOPICS.items()))
def test_shipped_set_covers_every_topic(
    library: ExplainerLibrary, explainer_id: str, expected: tuple[str, ...]
) -> None:
    explainer = library.get(explainer_id)

    assert explainer is not None
    for phrase in expected:
        assert phrase in explainer.text.lower()


def test_index_explainers_point_at_their_groups(library: ExplainerLibrary) -> None:
    fades = library.get("why-it-fades")
    helps = library.get("what-helps")

    assert fades is not None
    assert helps is not None
    assert fades.text.count("\u2022") == 4
    assert helps.text.count("\u2022") == 4
    assert [item.group for item in library.ordered()].count("why-it-fades") == 5


def test_scheduled_defaults_name_shipped_explainers(library: ExplainerLibrary) -> None:
    assert DEFAULT_SCHEDULE == {3: "after-infusion", 7: "why-it-fades", 14: "what-helps"}
    for explainer_id in DEFAULT_SCHEDULE.values():
        assert library.get(explainer_id) is not None


def test_every_text_fits_with_long_and_default_contacts(library: ExplainerLibrary) -> None:
    for explainer_id in library.ids():
        long = library.render(
            explainer_id, crisis_line=PLACEHOLDER_STAND_IN, emergency_number=PLACEHOLDER_STAND_IN
        )
        default = library.render(
            explainer_id,
            crisis_line=DEFAULT_CRISIS_LINE,
            emergency_number=DEFAULT_EMERGENCY_NUMBER,
        )
        assert len(long) <= MAX_TEXT, explainer_id
        assert len(default) <= MAX_TEXT, explainer_id
        assert "{" not in default
        assert "}" not in default


def test_every_text_ends_with_the_reminder(library: ExplainerLibrary) -> None:
    for explainer in library.ordered():
        assert explainer.text.splitlines()[-1] == REMINDER, explainer.id
        assert explainer.text.count(REMINDER) == 1


def test_titles_fit_a_button_and_ids_fit_callback_data(library: ExplainerLibrary) -> None:
    for explainer in library.ordered():
        assert len(explainer.title) <= MAX_TITLE
        assert explainer.id.isascii()
        assert len(explainer.id.encode()) <= 40
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", explainer.id)


def test_after_infusion_renders_the_clinic_contacts(library: ExplainerLibrary) -> None:
    text = library.render("after-infusion", crisis_line="call 116 123", emergency_number="112")

    assert "In an emergency call 112." in text
    assert "call 116 123" in text
    assert "not for emergencies" in text


def test_no_run_of_eight_words_is_copied_from_the_article(library: ExplainerLibrary) -> None:
    seed = next((path for path in SEED_CANDIDATES if path.is_file()), None)
    if seed is None:
        pytest.skip("the clinic article is not available here")
    article = words(seed.read_text(encoding="utf-8"))
    runs = {tuple(article[index : index + 8]) for index in range(len(article) - 7)}
    copied = []
    for explainer in library.ordered():
        own = words(f"{explainer.title} {explainer.text}")
        copied += [
            f"{explainer.id}: {' '.join(own[index : index + 8])}"
            for index in range(len(own) - 7)
            if tuple(own[index : index + 8]) in runs
        ]
    assert copied == []


# Navigation ------------------------------------------------------------------------------


def test_next_and_previous_walk_the_menu(library: ExplainerLibrary) -> None:
    first, second, *_, before_last, last = library.ordered()

    assert library.next_after(first.id) == second
    assert library.previous_before(second.id) == first
    assert library.next_after(before_last.id) == last
    assert library.previous_before(last.id) == before_last


def test_navigation_stops_at_both_ends(library: ExplainerLibrary) -> None:
    assert library.previous_before(MENU_ORDER[0]) is None
    assert library.next_after(MENU_ORDER[-1]) is None


def test_unknown_ids(library: ExplainerLibrary) -> None:
    assert library.get("no-such-explainer") is None
    assert library.next_after("no-such-explainer") is None
    assert library.previous_before("no-such-explainer") is None
    with pytest.raises(KeyError):
        library.render("no-such-explainer", crisis_line="x", emergency_number="y")


def test_a_library_of_one_has_no_neighbours() -> None:
    only = Explainer(id="only", title="Only", group="what-helps", order=1, text="x")
    library = ExplainerLibrary([only])

    assert library.next_after("only") is None
    assert library.previous_before("only") is None


# Loading a folder ------------------------------------------------------------------------


def test_custom_folder_orders_by_group_then_order(tmp_path: Path) -> None:
    write(tmp_path, "later", group="after-infusion", order=0)
    write(tmp_path, "second", group="how-it-works", order=7)
    write(tmp_path, "first", group="how-it-works", order=2)
    write(tmp_path, "middle", group="why-it-fades", order=1)
    (tmp_path / "README.md").write_text("not an explainer", encoding="utf-8")
    (tmp_path / ".#first.toml").write_text("editor lock file", encoding="utf-8")

    assert load_explainers(tmp_path).ids() == ["first", "second", "middle", "later"]


def test_text_and_title_are_stripped(tmp_path: Path) -> None:
    write(tmp_path, "tidy", title="  Tidy  ", text=f"\n\n  Words.\n\n{REMINDER}\n\n")

    explainer = load_explainers(tmp_path).get("tidy")

    assert explainer == Explainer(
        id="tidy", title="Tidy", group="why-it-fades", order=1, text=f"Words.\n\n{REMINDER}"
    )


def test_length_is_checked_with_long_placeholders(tmp_path: Path) -> None:
    body = "x" * (MAX_TEXT - len(REMINDER) - 2 - len("{crisis_line}") - 10) + "{crisis_line}"
    write(tmp_path, "tight", text=f"{body}\n\n{REMINDER}")

    message = content_error(tmp_path)

    assert "tight.toml" in message
    assert "placeholders filled" in message


BAD_FILES = [
    ("not TOML", "id = 'broken\n", "not valid TOML"),
    ("not UTF-8", b"id = '\xff\xfe'\n", "not UTF-8"),
    ("missing title", {"title": None}, "missing field 'title'"),
    ("empty title", {"title": "   "}, "field 'title' is empty"),
    ("empty text", {"text": " "}, "field 'text' is empty"),
    ("order as text", {"order": "1"}, "field 'order' must be a whole number"),
    ("order as bool", {"order": True}, "field 'order' must be a whole number"),
    ("title as number", {"title": 3}, "field 'title' must be a string"),
    ("negative order", {"order": -1}, "order must be 0 or more"),
    ("unknown field", {"summary": "extra"}, "unknown field(s) summary"),
    ("title too long", {"title": "x" * 41}, "title is 41 characters"),
    ("title on two lines", {"title": "one\ntwo"}, "title must be one line"),
    ("text too long", {"text": "x" * MAX_TEXT + f"\n{REMINDER}"}, "at most 700"),
    ("id not the file name", {"id": "other"}, "does not match the file name"),
    ("unknown group", {"group": "misc"}, "group 'misc' is not one of"),
    ("no reminder", {"text": "Just words."}, "one-line reminder"),
    ("reminder not last", {"text": f"{REMINDER}\nMore words."}, "one-line reminder"),
    ("reminder only", {"text": REMINDER}, "one-line reminder"),
    ("unknown placeholder", {"text": f"Call {{clinic_phone}}.\n{REMINDER}"}, "{clinic_phone}"),
    ("unmatched brace", {"text": f"Call {{crisis_line.\n{REMINDER}"}, "unmatched"),
]


@pytest.mark.parametrize(
    ("content", "expected"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_bad_file_names_the_file_and_the_problem(
    tmp_path: Path, content: str | bytes | dict[str, object], expected: str
) -> None:
    write(tmp_path, "good", order=9)
    if isinstance(content, dict):
        write(tmp_path, "bad-one", **content)
    elif isinstance(content, bytes):
        (tmp_path / "bad-one.toml").write_bytes(content)
    else:
        (tmp_path / "bad-one.toml").write_text(content, encoding="utf-8")

    message = content_error(tmp_path)

    assert "bad-one.toml" in message
    assert expected in message


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("Why_Fade", "must be lowercase-kebab"),
        ("double--hyphen", "must be lowercase-kebab"),
        ("caf\u00e9", "must be lowercase-kebab"),
        ("a" * 41, "id is 41 characters"),
    ],
)
def test_bad_ids(tmp_path: Path, stem: str, expected: str) -> None:
    write(tmp_path, stem)

    message = content_error(tmp_path)

    assert f"{stem}.toml" in message
    assert expected in message


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "twice")
    (tmp_path / "twice.TOML").write_text(
        (tmp_path / "twice.toml").read_text(encoding="utf-8").replace("order = 1", "order = 2"),
        encoding="utf-8",
    )

    message = content_error(tmp_path)

    assert "twice.toml" in message
    assert "twice.TOML" in message
    assert "id 'twice' is also used by" in message


def test_duplicate_order_in_a_group_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "one", order=3)
    write(tmp_path, "two", order=3)

    message = content_error(tmp_path)

    assert "one.toml" in message
    assert "two.toml" in message
    assert "order 3 in group 'why-it-fades'" in message


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here", encoding="utf-8")

    message = content_error(tmp_path)

    assert str(tmp_path) in message
    assert "no explainer files" in message


def test_missing_folder(tmp_path: Path) -> None:
    message = content_error(tmp_path / "absent")

    assert "absent" in message
    assert "not found" in message
