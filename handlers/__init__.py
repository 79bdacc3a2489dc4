"""Telegram in: thin handlers per audience, the typed context and the error handler."""

from handlers.context import CONTEXT_TYPES, AfterglowApp, BotData, Context
from handlers.errors import on_error
from handlers.patient import PATIENT_HANDLERS
from handlers.patient_privacy import BUTTON_GATE
from handlers.questionnaires import QUESTIONNAIRE_HANDLERS
from handlers.records import mydata_handlers
from handlers.safety import QUESTION_HANDLERS, SAFETY_HANDLERS
from handlers.setup import setup_handlers, setup_mode_handlers
from handlers.staff import staff_handlers

__all__ = [
    "BUTTON_GATE",
    "CONTEXT_TYPES",
    "PATIENT_HANDLERS",
    "QUESTIONNAIRE_HANDLERS",
    "QUESTION_HANDLERS",
    "SAFETY_HANDLERS",
    "AfterglowApp",
    "BotData",
    "Context",
    "mydata_handlers",
    "on_error",
    "setup_handlers",
    "setup_mode_handlers",
    "staff_handlers",
]
