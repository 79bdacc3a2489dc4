"""Crisis contacts by country (AFTERGLOW_COUNTRY), and which time zones are in the US.

Each entry is the emergency number and a crisis line a clinic in that country can give its
patients, worded to fit the bot's sentences ("call {emergency} (local emergency services) or
{crisis line}"). Only numbers checked against the source named beside them are listed; a
clinic elsewhere sets AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CountryContacts:
    """What patients in one country are told to call."""

    name: str
    emergency_number: str
    crisis_line: str


US_CONTACTS = CountryContacts(
    name="United States",
    # 911: FCC, https://www.fcc.gov/general/9-1-1-and-e9-1-1-services
    emergency_number="911",
    # 988 Suicide & Crisis Lifeline, call or text: https://988lifeline.org
    crisis_line="call or text 988 (Suicide & Crisis Lifeline, US)",
)

COUNTRIES: dict[str, CountryContacts] = {
    "US": US_CONTACTS,
    "CA": CountryContacts(
        name="Canada",
        # 911: Government of Canada, https://www.canada.ca
        emergency_number="911",
        # 9-8-8 Suicide Crisis Helpline, call or text, since 30 Nov 2023: https://988.ca
        crisis_line="call or text 988 (9-8-8 Suicide Crisis Helpline, Canada)",
    ),
    "GB": CountryContacts(
        name="United Kingdom",
        # 999 (112 works too): NHS, https://www.nhs.uk ("When to call 999")
        emergency_number="999",
        # Samaritans, free, day or night: https://www.samaritans.org
        crisis_line="call 116 123 (Samaritans, free)",
    ),
    "IE": CountryContacts(
        name="Ireland",
        # 112 and 999: Emergency Call Answering Service, https://www.gov.ie
        emergency_number="112 or 999",
        # Samaritans Ireland, free, day or night: https://www.samaritans.org/ireland/
        crisis_line="call 116 123 (Samaritans, free)",
    ),
    "DE": CountryContacts(
        name="Germany",
        # 112, the European emergency number: European Commission, https://europa.eu
        emergency_number="112",
        # TelefonSeelsorge, free, day or night: https://www.telefonseelsorge.de
        crisis_line="call 0800 111 0 111 or 0800 111 0 222 (TelefonSeelsorge, free)",
    ),
    "FR": CountryContacts(
        name="France",
        # 112, and 15 for the SAMU (medical emergencies): https://www.service-public.fr
        emergency_number="112 or 15",
        # 3114, the national suicide prevention line, free, day or night: https://3114.fr
        crisis_line="call 3114 (national suicide prevention line, free)",
    ),
    "NL": CountryContacts(
        name="Netherlands",
        # 112: https://www.112.nl
        emergency_number="112",
        # 113 Zelfmoordpreventie, 113 or free on 0800-0113: https://www.113.nl
        crisis_line="call 113 or 0800-0113 (113 Suicide Prevention, free)",
    ),
    "AU": CountryContacts(
        name="Australia",
        # Triple Zero (000): https://www.triplezero.gov.au
        emergency_number="000",
        # Lifeline, day or night: https://www.lifeline.org.au
        crisis_line="call 13 11 14 (Lifeline)",
    ),
}
ALIASES = {"UK": "GB"}


def country_contacts(code: str) -> CountryContacts | None:
    """Return the contacts of a country code (ISO 3166 alpha-2, UK for GB), if listed."""
    key = code.strip().upper()
    return COUNTRIES.get(ALIASES.get(key, key))


def known_countries() -> str:
    """Return the listed codes for a message, e.g. 'AU, CA, DE, ...'."""
    return ", ".join(sorted(COUNTRIES))


# The IANA zones of the fifty states (zone1970.tab, country US, and their old names). The
# territories are left out on purpose: a clinic there names its numbers itself.
_US_ZONES = frozenset(
    {
        "America/Adak",
        "America/Anchorage",
        "America/Boise",
        "America/Chicago",
        "America/Denver",
        "America/Detroit",
        "America/Fort_Wayne",
        "America/Indianapolis",
        "America/Juneau",
        "America/Knox_IN",
        "America/Los_Angeles",
        "America/Louisville",
        "America/Menominee",
        "America/Metlakatla",
        "America/New_York",
        "America/Nome",
        "America/Phoenix",
        "America/Shiprock",
        "America/Sitka",
        "America/Yakutat",
        "Navajo",
        "Pacific/Honolulu",
    }
)
_US_PREFIXES = ("America/Indiana/", "America/Kentucky/", "America/North_Dakota/", "US/")
_NOWHERE = ("UTC", "Etc/", "GMT", "UCT", "Universal", "Zulu")


def outside_us(zone: str) -> bool:
    """Tell whether an IANA zone names a place outside the United States.

    UTC and the Etc zones name no place, so they are not counted as outside.
    """
    if zone.startswith(_NOWHERE):
        return False
    return zone not in _US_ZONES and not zone.startswith(_US_PREFIXES)
