"""Telegram handlers: thin adapters from updates to services, one module per audience."""

from .common import on_error
from .patient import PATIENT_HANDLERS, SAFETY_HANDLERS
from .staff import staff_handlers

__all__ = ["PATIENT_HANDLERS", "SAFETY_HANDLERS", "on_error", "staff_handlers"]
