"""`afterglow demo`: the real bot against the embedded fake Telegram, in accelerated time.

A nurse invites a few invented patients, they consent and pick a check-in time, infusions
are recorded, and a simulated clock walks through the course while the patients answer their
check-ins. One patient's mood fades after her last infusion, the detector raises a staff alert
with a chart, and the nurse acknowledges it. Everything the bot sends is printed as a
transcript; the charts, the transcript and the database are written to a folder.
"""

from __future__ import annotations

from ._clinic import TOKEN
from ._run import demo_async, run_demo

__all__ = ["TOKEN", "demo_async", "run_demo"]
