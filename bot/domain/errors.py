"""Errors the services raise for input a person can correct."""


class InputError(Exception):
    """The request cannot be carried out as given; the message says why, for the sender."""
