"""handlers/staff.py, commands: who may use them where; /invite, /infusion, /patients, /patient.

Alerts, their buttons, /alerts, /resolve and the group migration are in test_staff_alerts.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.codes import AuditAction, PatientStatus
from bot.domain.errors import InputError, InputProblem
from bot.services.enrolment import MAX_LABEL
from bot.telegram import staff_texts
from bot.telegram.commands import STAFF_COMMAND_NAMES
from tests.handlers.conftest import CODE, LINK, InProcessBot, due_prompt, patient_of


def problem(kind: InputProblem, value: str = "") -> str:
    return staff_texts.input_problem(InputError(kind, value))


# -- who may use staff commands, and where


async def test_staff_commands_from_non_staff(bot: InProcessBot) -> None:
    mallory = bot.user("Mallory")
    code, _ = await bot.invite()
    for command in (
        "/invite",
        "/infusion P-AAAA",
        "/patients",
        "/alerts",
        f"/patient {code}",
        f"/resolve {code}",
        f"/infusion {code}",
        "/invite@afterglow_test_bot",
    ):
        reply = (await bot.send(mallory, command)).reply.text
        assert reply == staff_texts.NOT_AUTHORISED, command
        assert "not authorised" in reply
    assert len(await bot.svc.care.overview()) == 1
    patient = await bot.svc.storage.patients.by_code(code)
    assert patient is not None
    assert await bot.svc.storage.infusions.latest(patient.id) is None
    # In the staff group, non-staff are ignored entirely.
    for text in ("/invite", "/patients", "hello", "7", f"/patient {code}", f"/resolve {code}"):
        assert (await bot.send(mallory, text, chat=bot.staff_group)).silent, text
    # /help in the staff group is answered for anyone there, with the command list only.
    listed = (await bot.send(mallory, "/help", chat=bot.staff_group)).reply.text
    assert listed == staff_texts.staff_help()
    assert code not in listed
    assert len(await bot.svc.care.overview()) == 1
    entries = await bot.svc.storage.clinic.audit_log()
    assert [entry.actor for entry in entries] == [bot.staff.id]


async def test_staff_commands_in_another_group_are_ignored(bot: InProcessBot) -> None:
    """Patient data must not appear in any group but the staff group, even for staff."""
    family = bot.updates.group("Family chat")
    other = bot.updates.group("Other clinic", supergroup=True)
    mallory = bot.user("Mallory")
    gil = bot.user("Gil")
    code = await bot.enrol(gil)
    for group in (family, other):
        for user in (bot.staff, mallory):
            for name in sorted(STAFF_COMMAND_NAMES):
                text = f"/{name} {code}"
                assert (await bot.send(user, text, chat=group)).silent, (group.title, text)
            assert (await bot.send(user, "/help", chat=group)).silent
    patient = await patient_of(bot, gil)
    assert await bot.svc.storage.infusions.latest(patient.id) is None
    assert len(await bot.svc.care.overview()) == 1
    actions = [entry.action for entry in await bot.svc.storage.clinic.audit_log()]
    assert actions == [AuditAction.INVITE]


async def test_help_in_the_staff_group_lists_the_staff_commands(bot: InProcessBot) -> None:
    reply = (await bot.send(bot.staff, "/help", chat=bot.staff_group)).reply.text

    assert reply == staff_texts.staff_help()
    assert "/patient" in reply
    assert "988" not in reply


# -- /invite


async def test_invite_makes_a_patient_and_a_one_time_link(bot: InProcessBot) -> None:
    reply = (await bot.send(bot.staff, "/invite   Room   4 ")).reply
    link, code = LINK.search(reply.text), CODE.search(reply.text)
    assert link is not None
    assert code is not None
    assert "(Room 4)" in reply.text
    patient = await bot.svc.storage.patients.by_code(code.group(1))
    assert patient is not None
    assert patient.status is PatientStatus.INVITED
    assert patient.label == "Room 4"
    assert len(link.group(1)) == 43
    entries = await bot.svc.storage.clinic.audit_log(patient_id=patient.id)
    assert [(e.action, e.actor) for e in entries] == [(AuditAction.INVITE, bot.staff.id)]
    # The link is not previewed (it would fetch t.me with the token in it).
    call = next(c for c in reversed(bot.world.calls_to("sendMessage")))
    assert call.params.get("link_preview_options") == {"is_disabled": True}


async def test_invite_labels(bot: InProcessBot) -> None:
    longest = "x" * MAX_LABEL
    assert f"({longest})" in (await bot.send(bot.staff, f"/invite {longest}")).reply.text
    emoji = "\U0001f600 bed 3"
    assert f"({emoji})" in (await bot.send(bot.staff, f"/invite {emoji}")).reply.text
    too_long = (await bot.send(bot.staff, "/invite " + "x" * (MAX_LABEL + 1))).reply.text
    assert too_long == problem(InputProblem.LABEL_TOO_LONG, str(MAX_LABEL))
    assert "too long" in too_long
    huge = (await bot.send(bot.staff, "/invite " + "y" * 5000)).reply.text
    assert "too long" in huge
    assert len(await bot.svc.care.overview()) == 2


async def test_a_redelivered_invite_creates_one_patient(bot: InProcessBot) -> None:
    command = bot.updates.text(bot.staff, "/invite")
    first = await bot.process(command)
    assert LINK.search(first.reply.text)

    again = await bot.process(command)

    assert again.silent
    assert len(await bot.svc.care.overview()) == 1


# -- /infusion


async def test_staff_in_the_group_and_bad_infusion_arguments(bot: InProcessBot) -> None:
    group = bot.staff_group
    reply = (await bot.send(bot.staff, "/invite Room 4", chat=group)).reply.text
    assert "New patient P-" in reply
    assert "(Room 4)" in reply
    cases = {
        "/infusion": "Usage",
        "/infusion P-ZZZZ": "no patient P-ZZZZ",
        "/infusion hello!": "not a patient code",
        "/infusion P-ZZZZ 2026-13-01": "not a real date",
        "/infusion P-ZZZZ yesterday": "not a date",
        "/infusion P-ZZZZ 2026-03-01 9am": "not a time",
        "/infusion P-ZZZZ 2030-01-01": "future",
        "/infusion P-ZZZZ 2020-01-01": "more than a year ago",
        "/infusion a b c d": "Usage",
    }
    for text, expected in cases.items():
        answer = (await bot.send(bot.staff, text, chat=group)).reply.text
        assert expected in answer, (text, answer)
    # A long label is refused and nothing is created.
    long_label = (await bot.send(bot.staff, "/invite " + "x" * 80)).reply.text
    assert "too long" in long_label
    assert len(await bot.svc.care.overview()) == 1
    # Group chatter by staff that is not a command is ignored.
    assert (await bot.send(bot.staff, "see you tomorrow", chat=group)).silent


async def test_infusion_records_and_plans(bot: InProcessBot) -> None:
    ann = bot.user("Ann")
    code = await bot.enrol(ann)
    reply = (await bot.send(bot.staff, f"/infusion {code.lower()[2:]}")).reply.text
    assert f"Infusion recorded for {code}" in reply
    assert "35 check-ins planned" in reply
    patient = await patient_of(bot, ann)
    infusion = await bot.svc.storage.infusions.latest(patient.id)
    assert infusion is not None
    assert infusion.given_at == bot.clock.now()
    assert infusion.recorded_by == bot.staff.id
    assert len(await bot.svc.storage.checkins.for_patient(patient.id)) == 35

    dated = (await bot.send(bot.staff, f"/infusion {code} 2026-03-01 14:30")).reply.text
    assert "2026-03-01 14:30 (Europe/Berlin)" in dated
    recent = await bot.svc.storage.infusions.recent(patient.id)
    given = sorted(i.given_at for i in recent)
    assert given[0] == datetime(2026, 3, 1, 13, 30, tzinfo=UTC)


async def test_a_redelivered_infusion_is_recorded_once(bot: InProcessBot) -> None:
    bea = bot.user("Bea")
    code = await bot.enrol(bea)
    command = bot.updates.text(bot.staff, f"/infusion {code}")
    assert code in (await bot.process(command)).reply.text

    assert (await bot.process(command)).silent

    patient = await patient_of(bot, bea)
    assert len(await bot.svc.storage.infusions.recent(patient.id, limit=10)) == 1
    assert len(await bot.svc.storage.checkins.for_patient(patient.id)) == 35


async def test_infusion_for_someone_not_enrolled_yet_says_so(bot: InProcessBot) -> None:
    code, _ = await bot.invite()
    reply = (await bot.send(bot.staff, f"/infusion {code}")).reply.text
    assert f"Infusion recorded for {code}" in reply
    assert "has not finished enrolment" in reply


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("{code} 2026-02-30", "not a real date"),
        ("{code} 2026-03-01 25:00", "not a time"),
        ("{code} 2026-03-01 14:30 extra", "Usage"),
        ("{code} 2026-3-1", "not a date"),
        ("{code} 01.03.2026", "not a date"),
        ("\U0001f489", "not a patient code"),
        ("P-" + "A" * 5000, "not a patient code"),
        ("{code}\U0001f600", "not a patient code"),
        ("'; DROP TABLE patients; --", "Usage"),
    ],
)
async def test_infusion_bad_arguments_record_nothing(
    bot: InProcessBot, args: str, expected: str
) -> None:
    cal = bot.user("Cal")
    code = await bot.enrol(cal)
    reply = (await bot.send(bot.staff, "/infusion " + args.format(code=code))).reply.text
    assert expected in reply
    assert len(reply) < 300  # a short reply, whatever was typed
    patient = await patient_of(bot, cal)
    assert await bot.svc.storage.infusions.latest(patient.id) is None
    assert await bot.svc.storage.checkins.for_patient(patient.id) == []


# -- /patients


async def test_patients_list(bot: InProcessBot) -> None:
    assert (await bot.send(bot.staff, "/patients")).reply.text == staff_texts.NO_PATIENTS
    rae = bot.user("Rae", "rae_private")
    code = await bot.enrol_and_infuse(rae)
    prompt, _ = await due_prompt(bot, rae)
    await bot.press(rae, prompt, prompt.button("8"))
    listing = (await bot.send(bot.staff, "/patients", chat=bot.staff_group)).reply.text
    assert code in listing
    assert "active" in listing
    assert "last 8/10" in listing
    # Staff-facing text never carries the patient's Telegram identity.
    assert "Rae" not in listing
    assert "rae_private" not in listing


async def test_patients_list_is_capped_for_large_clinics(bot: InProcessBot) -> None:
    for n in range(160):
        await bot.svc.enrolment.invite(staff_id=bot.staff.id, label=None, update_id=10_000 + n)
    listed = await bot.send(bot.staff, "/patients")
    texts = listed.texts
    assert any("and 10 more" in text for text in texts)
    assert sum(text.count("P-") for text in texts) == 150


async def test_patients_list_is_cut_by_telegram_length_not_python_length(
    bot: InProcessBot,
) -> None:
    """Emoji count twice in Telegram's limit: long emoji labels still list every patient."""
    for n in range(30):
        await bot.svc.enrolment.invite(
            staff_id=bot.staff.id, label="\U0001f600" * 60, update_id=20_000 + n
        )
    listed = await bot.send(bot.staff, "/patients")
    texts = listed.texts
    assert len(texts) > 1
    assert not any("went wrong" in text for text in texts)
    assert sum(text.count("P-") for text in texts) == 30
    assert all(call.ok for call in listed.calls)


# -- /patient


async def test_patient_shows_summary_and_chart_and_is_audited(bot: InProcessBot) -> None:
    fay = bot.user("Fay", "fay_private")
    code = await bot.enrol_and_infuse(fay)
    prompt, _ = await due_prompt(bot, fay)
    await bot.press(fay, prompt, prompt.button("6"))
    await bot.send(fay, "slept badly")

    shown = await bot.send(bot.staff, f"/patient {code.lower()}", chat=bot.staff_group)

    summary, chart = shown.replies
    assert summary.text.startswith(f"{code} \u00b7 active")
    assert "Recent check-ins: 6" in summary.text
    assert "slept badly" in summary.text
    assert "Fay" not in summary.text
    assert "fay_private" not in summary.text
    assert chart.method == "sendPhoto"
    assert chart.text == staff_texts.chart_caption(code)
    assert chart.photo is not None
    assert chart.photo.startswith(b"\x89PNG")
    patient = await patient_of(bot, fay)
    entries = await bot.svc.storage.clinic.audit_log(patient_id=patient.id)
    assert entries[0].action is AuditAction.VIEW_PATIENT
    assert entries[0].actor == bot.staff.id


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/patient", staff_texts.usage("patient")),
        ("/patient P-AAAA P-BBBB", staff_texts.usage("patient")),
        ("/patient P-ZZZZ", problem(InputProblem.NO_SUCH_PATIENT, "P-ZZZZ")),
        ("/patient hello!", problem(InputProblem.NOT_A_CODE, "hello!")),
        ("/patient " + "z" * 5000, problem(InputProblem.NOT_A_CODE, "z" * 20)),
        ("/patient \U0001f600", problem(InputProblem.NOT_A_CODE, "\U0001f600")),
        ("/resolve", staff_texts.usage("resolve")),
        ("/resolve a b", staff_texts.usage("resolve")),
        ("/resolve P-ZZZZ", problem(InputProblem.NO_SUCH_PATIENT, "P-ZZZZ")),
        ("/resolve ?!", problem(InputProblem.NOT_A_CODE, "?!")),
    ],
)
async def test_patient_and_resolve_bad_arguments(
    bot: InProcessBot, command: str, expected: str
) -> None:
    reply = await bot.send(bot.staff, command, chat=bot.staff_group)
    assert reply.texts == [expected]
    assert await bot.svc.storage.clinic.audit_log() == []
