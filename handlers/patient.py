"""Handlers for patients in their private chat with the bot."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain.entities import AnswerOutcome, CheckinKind, Patient, PatientStatus, RedeemOutcome
from bot.domain.errors import InputError
from bot.services.checkins import TextOutcome
from bot.services.dispatcher import Unknown
from bot.services.enrolment import GENERATED_TOKEN
from bot.telegram import texts
from bot.telegram.keyboards import (
    CONSENT_DATA,
    consent_keyboard,
    learn_menu,
    learn_page,
    mood_keyboard,
    parse_contact,
    parse_learn,
    parse_mood,
    parse_time,
    time_keyboard,
)
from bot.telegram.senders import classify

from .common import Context, services, update_id
from .staff import STAFF_COMMANDS

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


async def _current_patient(update: Update, context: Context) -> Patient | None:
    """Return the sender's patient record, replying with the reason when there is none."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    patient = await services(context).checkins.patient_for(update.effective_user.id)
    if patient is None:
        await update.effective_message.reply_text(texts.NOT_INVITED)
        return None
    if patient.status is PatientStatus.CONSENT_PENDING:
        await update.effective_message.reply_text(texts.NOT_ACTIVE_YET)
        return None
    if patient.status is PatientStatus.STOPPED:
        await update.effective_message.reply_text(texts.ALREADY_STOPPED)
        return None
    if patient.status is PatientStatus.UNREACHABLE:
        reactivated = await services(context).care.reactivate(patient)
        if reactivated is not None:
            await update.effective_message.reply_text(texts.WELCOME_BACK)
            return reactivated
    return patient


async def start(update: Update, context: Context) -> None:
    """Open an invitation link (/start <token>) or greet a returning user."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    svc = services(context)
    payload = context.args[0] if context.args and len(context.args) == 1 else None
    if payload is None and svc.is_staff(update.effective_user.id):
        await update.effective_message.reply_text(texts.STAFF_HELP)
        return
    result = await svc.enrolment.redeem(
        payload=payload, user_id=update.effective_user.id, chat_id=update.effective_message.chat_id
    )
    message = update.effective_message
    match result.outcome:
        case RedeemOutcome.ENROLLED:
            await message.reply_text(
                texts.consent_text(svc.contacts), reply_markup=consent_keyboard()
            )
        case RedeemOutcome.ALREADY_ENROLLED | RedeemOutcome.OWN_LINK:
            patient = result.patient
            if patient is not None and patient.status is PatientStatus.CONSENT_PENDING:
                await message.reply_text(
                    texts.consent_text(svc.contacts), reply_markup=consent_keyboard()
                )
            elif patient is not None and patient.status is PatientStatus.STOPPED:
                await message.reply_text(texts.ALREADY_STOPPED)
            elif payload is not None and result.outcome is RedeemOutcome.ALREADY_ENROLLED:
                await message.reply_text(texts.ENROLLED_ELSEWHERE)
            else:
                await message.reply_text(texts.ALREADY_ENROLLED)
        case RedeemOutcome.EXPIRED:
            await message.reply_text(texts.INVITE_EXPIRED)
        case RedeemOutcome.USED:
            await message.reply_text(texts.INVITE_USED)
        case RedeemOutcome.UNKNOWN:
            await message.reply_text(texts.NOT_INVITED)


async def consent_pressed(update: Update, context: Context) -> None:
    """Record consent from the "I agree" button, then ask for a check-in time."""
    query = update.callback_query
    assert query is not None
    assert update.effective_user is not None
    svc = services(context)
    patient, new = await svc.enrolment.consent(user_id=update.effective_user.id)
    if patient is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    if not new:
        stopped = patient.status is PatientStatus.STOPPED
        await query.answer(texts.ALREADY_STOPPED if stopped else texts.CONSENT_ALREADY)
        return
    await query.answer(texts.CONSENT_RECORDED)
    if query.message is not None:
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            log.info("consent.edit_failed code=%s", patient.code)
    await context.bot.send_message(
        patient.chat_id or update.effective_user.id,
        f"{texts.CONSENT_RECORDED}\n\n{texts.CHOOSE_TIME}",
        reply_markup=time_keyboard(svc.care.time_choices()),
    )


async def time_pressed(update: Update, context: Context) -> None:
    """Set the daily check-in time from a time button."""
    query = update.callback_query
    assert query is not None
    assert update.effective_user is not None
    svc = services(context)
    hhmm = parse_time(query.data or "")
    patient = await svc.checkins.patient_for(update.effective_user.id)
    if (
        hhmm is None
        or patient is None
        or patient.status not in {PatientStatus.ACTIVE, PatientStatus.PAUSED}
    ):
        await query.answer(texts.BUTTON_INVALID)
        return
    chosen, moved = await svc.care.change_time(patient, hhmm)
    await query.answer(f"{chosen} saved")
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        log.info("time.edit_failed code=%s", patient.code)
    await context.bot.send_message(
        patient.chat_id or update.effective_user.id,
        texts.time_set(chosen, patient.timezone, moved),
    )


async def time_command(update: Update, context: Context) -> None:
    """Show the time buttons, or set the time given as /time HH:MM."""
    assert update.effective_message is not None
    patient = await _current_patient(update, context)
    if patient is None:
        return
    svc = services(context)
    if not context.args:
        current = patient.checkin_time or svc.protocol.default_time.strftime("%H:%M")
        await update.effective_message.reply_text(
            f"Your check-ins come at {current} ({patient.timezone}). {texts.CHOOSE_TIME}",
            reply_markup=time_keyboard(svc.care.time_choices()),
        )
        return
    if len(context.args) != 1:
        await update.effective_message.reply_text(texts.TIME_BAD)
        return
    try:
        chosen, moved = await svc.care.change_time(patient, context.args[0])
    except InputError:
        await update.effective_message.reply_text(texts.TIME_BAD)
        return
    await update.effective_message.reply_text(texts.time_set(chosen, patient.timezone, moved))


async def mood_pressed(update: Update, context: Context) -> None:
    """Store the score of a pressed mood button exactly once."""
    query = update.callback_query
    assert query is not None
    assert update.effective_user is not None
    choice = parse_mood(query.data or "")
    if choice is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    result = await services(context).checkins.answer_button(
        user_id=update.effective_user.id,
        checkin_id=choice.checkin_id,
        score=choice.score,
        update_id=update_id(update),
    )
    match result.outcome:
        case AnswerOutcome.STORED:
            assert result.checkin is not None
            try:
                await query.answer(f"Recorded: {choice.score}/10")
                await query.edit_message_text(texts.answer_recorded(choice.score))
            except TelegramError:
                log.info("checkin.confirm_failed checkin=%d", choice.checkin_id)
            finally:
                await services(context).checkins.answered(result.checkin.patient_id)
        case AnswerOutcome.DUPLICATE | AnswerOutcome.ALREADY_ANSWERED:
            score = result.checkin.score if result.checkin is not None else None
            await query.answer(texts.already_answered(score))
        case AnswerOutcome.CLOSED:
            patient = await services(context).checkins.patient_for(update.effective_user.id)
            stopped = patient is not None and patient.status is PatientStatus.STOPPED
            await query.answer(texts.ALREADY_STOPPED if stopped else texts.CHECKIN_CLOSED)
        case AnswerOutcome.NOT_FOUND:
            await query.answer(texts.BUTTON_INVALID)


async def unknown_button(update: Update, context: Context) -> None:
    """Answer any button this bot does not know, so the client stops spinning."""
    assert update.callback_query is not None
    await update.callback_query.answer(texts.BUTTON_INVALID)


async def checkin_command(update: Update, context: Context) -> None:
    """Send an extra check-in now, or the open one again."""
    assert update.effective_message is not None
    patient = await _current_patient(update, context)
    if patient is None:
        return
    svc = services(context)
    open_checkin = await svc.checkins.open_checkin(patient)
    if open_checkin is not None:
        if await svc.checkins.seen_extra_request(update_id(update)):
            return  # the same update again: its prompt went out the first time
        await update.effective_message.reply_text(
            texts.OPEN_CHECKIN_EXISTS, reply_markup=mood_keyboard(open_checkin.id)
        )
        return
    checkin = await svc.checkins.create_extra(patient, update_id=update_id(update))
    if checkin is None:
        # A repeated update, or a planned check-in went out meanwhile: show that one.
        sent_meanwhile = await svc.checkins.open_checkin(patient)
        if sent_meanwhile is not None and sent_meanwhile.kind is CheckinKind.PLANNED:
            await update.effective_message.reply_text(
                texts.OPEN_CHECKIN_EXISTS, reply_markup=mood_keyboard(sent_meanwhile.id)
            )
        return
    try:
        sent = await update.effective_message.reply_text(
            texts.CHECKIN_PROMPT, reply_markup=mood_keyboard(checkin.id)
        )
    except TelegramError as err:
        outcome = classify(err)
        if isinstance(outcome, Unknown):
            # It may have arrived: keep it answerable, as the dispatcher does.
            await svc.checkins.extra_uncertain(checkin, reason=outcome.reason)
        else:
            await svc.checkins.extra_not_sent(checkin, reason=type(outcome).__name__)
        raise
    await svc.checkins.confirm_sent(checkin, sent.message_id)


async def text_message(update: Update, context: Context) -> None:
    """Take a typed score or a note, and re-prompt anything else."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    message = update.effective_message
    svc = services(context)
    result = await svc.checkins.handle_text(
        user_id=update.effective_user.id, text=message.text or "", update_id=update_id(update)
    )
    if result.reactivated:
        await message.reply_text(texts.WELCOME_BACK)
    match result.outcome:
        case TextOutcome.NOT_ENROLLED:
            await message.reply_text(texts.NOT_INVITED)
        case TextOutcome.CONSENT_NEEDED:
            await message.reply_text(texts.CONSENT_FIRST)
        case TextOutcome.STOPPED:
            await message.reply_text(texts.ALREADY_STOPPED)
        case TextOutcome.ANSWER_STORED:
            checkin = result.checkin
            assert checkin is not None
            assert checkin.score is not None
            if checkin.message_id is not None:
                try:
                    await context.bot.edit_message_text(
                        chat_id=message.chat_id,
                        message_id=checkin.message_id,
                        text=texts.answer_recorded_typed(checkin.score),
                    )
                except TelegramError:
                    log.info("checkin.edit_failed checkin=%d", checkin.id)
            try:
                await message.reply_text(texts.answer_recorded_short(checkin.score))
            finally:
                await svc.checkins.answered(checkin.patient_id)
        case TextOutcome.DUPLICATE:
            return
        case TextOutcome.REPROMPT:
            await message.reply_text(texts.REPROMPT_SCORE)
        case TextOutcome.NOTE_STORED:
            await message.reply_text(texts.NOTE_SAVED)
        case TextOutcome.NO_OPEN_CHECKIN:
            await message.reply_text(texts.NO_OPEN_CHECKIN)
        case TextOutcome.UNRECOGNISED:
            await message.reply_text(texts.UNRECOGNISED)


async def learn_command(update: Update, context: Context) -> None:
    """Show the menu of explainer topics (to enrolled patients)."""
    assert update.effective_message is not None
    assert update.effective_user is not None
    if await services(context).checkins.patient_for(update.effective_user.id) is None:
        await update.effective_message.reply_text(texts.NOT_INVITED)
        return
    topics = [(e.id, e.title) for e in services(context).education.menu()]
    await update.effective_message.reply_text(texts.LEARN_INTRO, reply_markup=learn_menu(topics))


async def learn_pressed(update: Update, context: Context) -> None:
    """Open an explainer (or the menu again) in place, with Back and Next."""
    query = update.callback_query
    assert query is not None
    assert update.effective_user is not None
    svc = services(context)
    target = parse_learn(query.data or "")
    patient = await svc.checkins.patient_for(update.effective_user.id)
    if target is None or patient is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    if target == "menu":
        topics = [(e.id, e.title) for e in svc.education.menu()]
        await query.answer()
        await _show(query, texts.LEARN_INTRO, learn_menu(topics))
        return
    page = await svc.education.page(patient, target)
    if page is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    await query.answer()
    await _show(query, page.text, learn_page(page.next_id))


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    """Replace the pressed message with new text, or send it anew if that fails."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except TelegramError:
        if query.message is not None:
            await query.get_bot().send_message(query.message.chat.id, text, reply_markup=markup)


async def contact_pressed(update: Update, context: Context) -> None:
    """Tell the care team the patient would like to be contacted."""
    query = update.callback_query
    assert query is not None
    assert update.effective_user is not None
    episode_id = parse_contact(query.data or "")
    if episode_id is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    raised = await services(context).education.request_contact(
        user_id=update.effective_user.id, episode_id=episode_id
    )
    if raised is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    await query.answer(texts.CONTACT_SENT if raised else texts.CONTACT_ALREADY)
    if raised and query.message is not None:
        await query.get_bot().send_message(
            query.message.chat.id, texts.contact_confirmation(services(context).contacts)
        )


async def skip_command(update: Update, context: Context) -> None:
    """Skip the optional note."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    skipped = await services(context).checkins.skip_note(user_id=update.effective_user.id)
    await update.effective_message.reply_text(
        texts.NOTE_SKIPPED if skipped else texts.NOTHING_TO_SKIP
    )


async def help_command(update: Update, context: Context) -> None:
    """Explain the commands, always with the not-for-emergencies notice."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    svc = services(context)
    patient = await svc.checkins.patient_for(update.effective_user.id)
    text = texts.help_text(svc.contacts, enrolled=patient is not None)
    if svc.is_staff(update.effective_user.id):
        text = f"{texts.STAFF_HELP}\n\n{text}"
    await update.effective_message.reply_text(text)


async def pause_command(update: Update, context: Context) -> None:
    """Pause check-ins."""
    assert update.effective_message is not None
    patient = await _current_patient(update, context)
    if patient is None:
        return
    paused = await services(context).care.pause(patient)
    await update.effective_message.reply_text(texts.PAUSED if paused else texts.ALREADY_PAUSED)


async def resume_command(update: Update, context: Context) -> None:
    """Resume paused check-ins."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    before = await services(context).checkins.patient_for(update.effective_user.id)
    patient = await _current_patient(update, context)
    if patient is None:
        return
    if before is not None and before.status is PatientStatus.UNREACHABLE:
        return  # _current_patient has just brought them back and said so
    resumed = await services(context).care.resume(patient)
    await update.effective_message.reply_text(texts.RESUMED if resumed else texts.NOT_PAUSED)


async def stop_command(update: Update, context: Context) -> None:
    """Stop all check-ins and messages."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    svc = services(context)
    patient = await svc.checkins.patient_for(update.effective_user.id)
    if patient is None:
        await update.effective_message.reply_text(texts.NOT_INVITED)
        return
    stopped = await svc.care.stop(patient)
    await update.effective_message.reply_text(texts.STOPPED if stopped else texts.ALREADY_STOPPED)


async def unknown_command(update: Update, context: Context) -> None:
    """Answer a command this bot does not know."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts.UNRECOGNISED)


async def non_text(update: Update, context: Context) -> None:
    """Answer stickers, photos, voice and the like: nothing is stored."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts.text_only(services(context).contacts))


def _own_words(text: str, from_staff: bool) -> str:
    """Return the part of a private message that is the sender's own words to check.

    Two kinds of text are not: a staff command from staff (it describes a patient, as in
    "/invite history of self-harm"), and an invitation token after /start (machine-made,
    and 43 random characters can happen to read like crisis slang). Everything else is
    checked, including other commands and any words after /start.
    """
    if not text.startswith("/"):
        return text
    command, _, rest = text.partition(" ")
    name = command[1:].split("@", 1)[0].lower()
    if from_staff and name in STAFF_COMMANDS:
        return ""
    if name == "start" and GENERATED_TOKEN.fullmatch(rest.strip()):
        return ""
    return text


async def safety_gate(update: Update, context: Context) -> None:
    """Check every private message's words (text, caption, command, edit) for crisis language.

    Runs before every other handler; on a signal the patient gets the crisis resources and
    the staff an urgent alert at once, and nothing else handles the message.
    """
    assert update.effective_user is not None
    assert update.effective_message is not None
    message = update.effective_message
    svc = services(context)
    words = _own_words(
        message.text or message.caption or "",
        svc.is_staff(message.from_user.id if message.from_user else None),
    )
    signal = svc.safety.check(words)
    if signal is None:
        return
    try:
        await svc.safety.escalate(
            user_id=update.effective_user.id,
            chat_id=message.chat_id,
            text=words,
            signal=signal,
            update_id=update_id(update),
        )
    except Exception:
        log.exception("crisis.escalate_failed")
    # Whatever happened, this message is not handled as an ordinary answer or note.
    raise ApplicationHandlerStop


SAFETY_HANDLERS: list[BaseHandler[Update, Context, None]] = [
    MessageHandler(
        filters.ChatType.PRIVATE & filters.UpdateType.MESSAGES & (filters.TEXT | filters.CAPTION),
        safety_gate,
    ),
]


PATIENT_HANDLERS: list[BaseHandler[Update, Context, None]] = [
    CommandHandler("start", start, filters=PRIVATE),
    CommandHandler("help", help_command, filters=PRIVATE),
    CommandHandler("checkin", checkin_command, filters=PRIVATE),
    CommandHandler("learn", learn_command, filters=PRIVATE),
    CommandHandler("time", time_command, filters=PRIVATE),
    CommandHandler("skip", skip_command, filters=PRIVATE),
    CommandHandler("pause", pause_command, filters=PRIVATE),
    CommandHandler("resume", resume_command, filters=PRIVATE),
    CommandHandler("stop", stop_command, filters=PRIVATE),
    CallbackQueryHandler(consent_pressed, pattern=f"^{CONSENT_DATA}$"),
    CallbackQueryHandler(time_pressed, pattern=r"^t:"),
    CallbackQueryHandler(mood_pressed, pattern=r"^m:"),
    CallbackQueryHandler(learn_pressed, pattern=r"^lx:"),
    CallbackQueryHandler(contact_pressed, pattern=r"^cc:"),
    MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, text_message),
    # Catch-alls last.
    MessageHandler(PRIVATE & filters.COMMAND, unknown_command),
    MessageHandler(PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, non_text),
    CallbackQueryHandler(unknown_button),
]
