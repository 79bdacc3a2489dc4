"""Afterglow: follow-up check-ins after ketamine infusions, over Telegram."""
