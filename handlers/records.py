"""A patient's own data file (/mydata) and the clinic's export (/export <code>)."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import CommandHandler, filters

from bot.telegram import record_texts
from handlers.arguments import patient_argument
from handlers.context import Context, Handler, from_message


async def mydata_command(update: Update, context: Context) -> None:
    """Send the patient a CSV of everything stored about them."""
    user_id, message = from_message(update)
    own = await context.services.records.own_copy(user_id=user_id)
    if own is None:
        await message.reply_text(record_texts.MYDATA_NONE)
        return
    await message.reply_document(
        InputFile(own.data, filename=own.name), caption=record_texts.MYDATA_CAPTION
    )


async def history_command(update: Update, context: Context) -> None:
    """Send the patient their chart since enrolment and their latest entries in words."""
    user_id, message = from_message(update)
    svc = context.services
    found = await svc.records.history(user_id=user_id)
    if found is None:
        await message.reply_text(record_texts.HISTORY_NONE)
        return
    history, chart, zone = found
    if chart is None:
        await message.reply_text(record_texts.HISTORY_EMPTY)
        return
    await message.reply_photo(chart, caption=record_texts.HISTORY_CAPTION)
    await message.reply_text(record_texts.history_text(history, zone))


async def export_command(update: Update, context: Context) -> None:
    """Send a staff member one patient's data as CSV and as a FHIR R4 Bundle (audited)."""
    user_id, message = from_message(update)
    if message.chat.type != "private":
        await message.reply_text(record_texts.EXPORT_PRIVATE_ONLY)
        return
    patient = await patient_argument(update, context, "export")
    if patient is None:
        return
    table, bundle = await context.services.records.export(patient, staff_id=user_id)
    await message.reply_document(
        InputFile(table.data, filename=table.name),
        caption=record_texts.export_caption(patient.code, "CSV"),
    )
    await message.reply_document(
        InputFile(bundle.data, filename=bundle.name),
        caption=record_texts.export_caption(patient.code, "FHIR R4 Bundle (JSON)"),
    )


PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def mydata_handlers() -> list[Handler]:
    """Return the patient's /mydata handler (private chats)."""
    return [
        CommandHandler("mydata", mydata_command, filters=PRIVATE),
        CommandHandler("history", history_command, filters=PRIVATE),
    ]


def export_handlers(staff: filters.BaseFilter) -> list[Handler]:
    """Return the staff's /export handler (refused outside a private chat)."""
    return [CommandHandler("export", export_command, filters=staff)]
