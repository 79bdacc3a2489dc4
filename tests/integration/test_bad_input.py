"""Strangers, forged and expired links, wrong commands and odd messages: short replies only.

Every test that was here exercised handler logic only (no delivery faults, no restarts, no
timing), so they all live in the in-process tier now, with the same assertions:
tests/handlers/test_patient.py, test_checkins.py, test_staff.py and test_errors.py. Bad input
that needs real HTTP stays in this tier's other modules: forged and stale buttons and
redelivered updates over long polling (test_checkin_loop.py), crisis words over the urgent
connection and the fake server's faults (test_education_and_safety.py), staff commands in
other groups and after a supergroup migration (test_alerts.py).
"""
