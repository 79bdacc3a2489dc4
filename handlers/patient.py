"""Handlers for patients in their private chat with the bot."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.codes import AnswerOutcome, PatientStatus, RedeemOutcome, StaffJoinOutcome
from bot.domain.entities import Checkin
from bot.services.checkins import ExtraOutcome, TextOutcome
from bot.telegram import keyboards, roster_texts, staff_texts, texts
from handlers.context import Context, Handler, from_button, from_message
from handlers.patient_controls import (
    current_patient,
    drop_buttons,
    pause_command,
    resume_command,
    stop_command,
    stop_pressed,
    time_command,
    time_pressed,
)
from handlers.patient_privacy import PRIVACY_HANDLERS

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


async def start(update: Update, context: Context) -> None:
    """Open an invitation link (/start <token>) or greet a returning user."""
    user_id, message = from_message(update)
    svc = context.services
    payload = context.args[0] if context.args and len(context.args) == 1 else None
    if payload is None and svc.is_staff(user_id):
        await message.reply_text(staff_texts.staff_help())
        return
    if payload is not None and await svc.roster.holds(payload):
        await _join_staff(update, context, payload)
        return
    result = await svc.enrolment.redeem(payload=payload, user_id=user_id, chat_id=message.chat_id)
    patient = result.patient
    consent = texts.consent_text(
        svc.clinic.contacts,
        retention_days=svc.privacy.retention_days,
        keeps_clinical_record=not svc.clinic.delete_clinical_record,
    )
    match result.outcome:
        case RedeemOutcome.ENROLLED:
            await message.reply_text(consent, reply_markup=keyboards.consent_keyboard())
        case RedeemOutcome.ALREADY_ENROLLED | RedeemOutcome.OWN_LINK:
            if patient is not None and patient.status is PatientStatus.CONSENT_PENDING:
                await message.reply_text(consent, reply_markup=keyboards.consent_keyboard())
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


async def _join_staff(update: Update, context: Context, token: str) -> None:
    """Open a staff link: the sender joins the roster, and the staff chat is told."""
    user_id, message = from_message(update)
    svc = context.services
    outcome, member = await svc.roster.join(token, user_id=user_id)
    match outcome:
        case StaffJoinOutcome.JOINED:
            assert member is not None
            await message.reply_text(roster_texts.joined(member))
            try:
                # Told so that a link opened by the wrong person is noticed at once.
                await context.bot.send_message(
                    await svc.alerts.staff_chat_id(), roster_texts.joined_notice(member)
                )
            except TelegramError:
                log.warning("roster.join_notice_failed member=%d", member.id)
        case StaffJoinOutcome.ALREADY_MEMBER:
            await message.reply_text(roster_texts.ALREADY_MEMBER)
        case StaffJoinOutcome.IS_PATIENT:
            await message.reply_text(roster_texts.PATIENT_CANNOT_JOIN)
        case StaffJoinOutcome.NOT_VALID:
            await message.reply_text(roster_texts.LINK_NOT_VALID)


async def consent_pressed(update: Update, context: Context) -> None:
    """Record consent from the "I agree" button, then ask for a check-in time."""
    user_id, query = from_button(update)
    svc = context.services
    patient, new = await svc.enrolment.consent(user_id=user_id, version=texts.CONSENT_VERSION)
    if patient is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    if not new:
        stopped = patient.status is PatientStatus.STOPPED
        await query.answer(texts.ALREADY_STOPPED if stopped else texts.CONSENT_ALREADY)
        return
    await query.answer(texts.CONSENT_RECORDED)
    if query.message is not None:
        await drop_buttons(query, patient.code)
    await context.bot.send_message(
        patient.chat_id or user_id,
        f"{texts.CONSENT_RECORDED}\n\n{texts.CHOOSE_TIME}",
        reply_markup=keyboards.time_keyboard(svc.care.time_choices()),
    )


async def mood_pressed(update: Update, context: Context) -> None:
    """Store the score of a pressed mood button exactly once."""
    user_id, query = from_button(update)
    choice = keyboards.parse_mood(query.data or "")
    if choice is None:
        await query.answer(texts.BUTTON_INVALID)
        return

    async def acknowledge(checkin: Checkin) -> None:
        try:
            await query.answer(texts.score_recorded(choice.score))
            await query.edit_message_text(texts.answer_recorded(choice.score))
        except TelegramError:
            log.info("checkin.confirm_failed checkin=%d", checkin.id)

    svc = context.services
    result = await svc.checkins.answer_button(
        user_id=user_id,
        checkin_id=choice.checkin_id,
        score=choice.score,
        update_id=update.update_id,
        acknowledge=acknowledge,
    )
    match result.outcome:
        case AnswerOutcome.DUPLICATE | AnswerOutcome.ALREADY_ANSWERED:
            score = result.checkin.score if result.checkin is not None else None
            try:
                await query.answer(texts.already_answered(score))
            except TelegramError:
                # The same press delivered again: its first delivery was answered already.
                log.info("checkin.duplicate_answer_refused checkin=%d", choice.checkin_id)
        case AnswerOutcome.CLOSED:
            patient = await svc.checkins.patient_for(user_id)
            stopped = patient is not None and patient.status is PatientStatus.STOPPED
            await query.answer(texts.ALREADY_STOPPED if stopped else texts.CHECKIN_CLOSED)
        case AnswerOutcome.NOT_FOUND:
            await query.answer(texts.BUTTON_INVALID)


async def unknown_button(update: Update, context: Context) -> None:
    """Answer any button this bot does not know, so the client stops spinning."""
    assert update.callback_query is not None
    await update.callback_query.answer(texts.BUTTON_INVALID)


async def checkin_command(update: Update, context: Context) -> None:
    """Send an extra check-in now, or show the open one again."""
    _user_id, message = from_message(update)
    patient = await current_patient(update, context)
    if patient is None:
        return
    result = await context.services.checkins.request_extra(patient, update_id=update.update_id)
    if result.outcome is ExtraOutcome.OPEN_EXISTS and result.checkin is not None:
        await message.reply_text(
            texts.OPEN_CHECKIN_EXISTS, reply_markup=keyboards.mood_keyboard(result.checkin.id)
        )
    elif result.outcome is ExtraOutcome.NOT_SENT:
        try:
            await message.reply_text(texts.SOMETHING_WENT_WRONG)
        except TelegramError:
            log.warning("checkin.extra_apology_failed code=%s", patient.code)


async def text_message(update: Update, context: Context) -> None:
    """Take a typed score or a note, and re-prompt anything else."""
    user_id, message = from_message(update)

    async def acknowledge(checkin: Checkin) -> None:
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
        await message.reply_text(texts.answer_recorded_short(checkin.score))

    result = await context.services.checkins.handle_text(
        user_id=user_id,
        text=message.text or "",
        update_id=update.update_id,
        acknowledge=acknowledge,
    )
    if result.reactivated:
        await message.reply_text(texts.WELCOME_BACK)
    reply = _TEXT_REPLIES.get(result.outcome)
    if reply is not None:
        await message.reply_text(reply)


_TEXT_REPLIES = {
    TextOutcome.NOT_ENROLLED: texts.NOT_INVITED,
    TextOutcome.CONSENT_NEEDED: texts.CONSENT_FIRST,
    TextOutcome.STOPPED: texts.ALREADY_STOPPED,
    TextOutcome.REPROMPT: texts.REPROMPT_SCORE,
    TextOutcome.NOTE_STORED: texts.NOTE_SAVED,
    TextOutcome.NO_OPEN_CHECKIN: texts.NO_OPEN_CHECKIN,
    TextOutcome.UNRECOGNISED: texts.UNRECOGNISED,
}


async def learn_command(update: Update, context: Context) -> None:
    """Show the menu of explainer topics (to enrolled patients)."""
    user_id, message = from_message(update)
    svc = context.services
    if await svc.checkins.patient_for(user_id) is None:
        await message.reply_text(texts.NOT_INVITED)
        return
    await message.reply_text(texts.LEARN_INTRO, reply_markup=_learn_menu(context))


def _learn_menu(context: Context) -> InlineKeyboardMarkup:
    topics = [(e.id, e.title) for e in context.services.education.menu()]
    return keyboards.learn_menu(topics)


async def learn_pressed(update: Update, context: Context) -> None:
    """Open an explainer (or the menu again) in place, with Back and Next."""
    user_id, query = from_button(update)
    svc = context.services
    target = keyboards.parse_learn(query.data or "")
    patient = await svc.checkins.patient_for(user_id)
    if target is None or patient is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    if target == "menu":
        await query.answer()
        await _show(query, texts.LEARN_INTRO, _learn_menu(context))
        return
    page = await svc.education.page(patient, target)
    if page is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    await query.answer()
    await _show(
        query, texts.explainer_page(page.explainer, page.body), keyboards.learn_page(page.next_id)
    )


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    """Replace the pressed message with new text, or send it anew if that fails."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except TelegramError:
        if query.message is not None:
            await query.get_bot().send_message(query.message.chat.id, text, reply_markup=markup)


async def contact_pressed(update: Update, context: Context) -> None:
    """Tell the care team the patient would like to be contacted."""
    user_id, query = from_button(update)
    episode_id = keyboards.parse_contact(query.data or "")
    if episode_id is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    svc = context.services
    raised = await svc.education.request_contact(user_id=user_id, episode_id=episode_id)
    if raised is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    await query.answer(texts.CONTACT_SENT if raised else texts.CONTACT_ALREADY)
    if raised and query.message is not None:
        await query.get_bot().send_message(
            query.message.chat.id, texts.contact_confirmation(svc.clinic.contacts)
        )


async def skip_command(update: Update, context: Context) -> None:
    """Skip the optional note."""
    user_id, message = from_message(update)
    skipped = await context.services.checkins.skip_note(user_id=user_id)
    await message.reply_text(texts.NOTE_SKIPPED if skipped else texts.NOTHING_TO_SKIP)


async def help_command(update: Update, context: Context) -> None:
    """Explain the commands, always with the not-for-emergencies notice."""
    user_id, message = from_message(update)
    svc = context.services
    patient = await svc.checkins.patient_for(user_id)
    text = texts.help_text(svc.clinic.contacts, enrolled=patient is not None)
    if svc.is_staff(user_id):
        text = f"{staff_texts.staff_help()}\n\n{text}"
    await message.reply_text(text)


async def unknown_command(update: Update, context: Context) -> None:
    """Answer a command this bot does not know."""
    _user_id, message = from_message(update)
    await message.reply_text(texts.UNRECOGNISED)


async def non_text(update: Update, context: Context) -> None:
    """Answer stickers, photos, voice and the like: nothing is stored."""
    _user_id, message = from_message(update)
    await message.reply_text(texts.text_only(context.services.clinic.contacts))


PATIENT_HANDLERS: list[Handler] = [
    CommandHandler("start", start, filters=PRIVATE),
    CommandHandler("help", help_command, filters=PRIVATE),
    CommandHandler("checkin", checkin_command, filters=PRIVATE),
    CommandHandler("learn", learn_command, filters=PRIVATE),
    CommandHandler("time", time_command, filters=PRIVATE),
    CommandHandler("skip", skip_command, filters=PRIVATE),
    CommandHandler("pause", pause_command, filters=PRIVATE),
    CommandHandler("resume", resume_command, filters=PRIVATE),
    CommandHandler("stop", stop_command, filters=PRIVATE),
    *PRIVACY_HANDLERS,
    CallbackQueryHandler(consent_pressed, pattern=f"^{keyboards.CONSENT_DATA}$"),
    CallbackQueryHandler(time_pressed, pattern=r"^t:"),
    CallbackQueryHandler(stop_pressed, pattern=r"^st:"),
    CallbackQueryHandler(mood_pressed, pattern=r"^m:"),
    CallbackQueryHandler(learn_pressed, pattern=r"^lx:"),
    CallbackQueryHandler(contact_pressed, pattern=r"^cc:"),
    MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, text_message),
    # Catch-alls last.
    MessageHandler(PRIVATE & filters.COMMAND, unknown_command),
    MessageHandler(PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, non_text),
    CallbackQueryHandler(unknown_button),
]
