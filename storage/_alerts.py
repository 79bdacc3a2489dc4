"""Staff alerts and their delivery bookkeeping; opening and resolving episodes with them."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import AlertKind, DeliveryProblem, EpisodeEndReason, EpisodeKind
from bot.domain.entities import Alert, NewAlert

from ._claims import CLAIM_LEASE, QUEUED_LEASE, claim_rows
from ._database import Database, Row, Transaction
from ._time import from_ts, opt_from_ts, to_ts

ALERT_COLUMNS = (
    "a.id, a.patient_id, p.code AS patient_code, a.episode_id, a.kind, a.urgent, a.text,"
    " a.with_chart, a.created_at, a.state, a.attempts, a.last_error, a.chat_id, a.message_id,"
    " a.photo, a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.reminders_sent,"
    " a.sent_at, a.escalations"
)
ALERTS_FROM = "alerts a JOIN patients p ON p.id = a.patient_id"


def alert_of(row: Row) -> Alert:
    return Alert(
        id=row["id"],
        patient_id=row["patient_id"],
        patient_code=row["patient_code"],
        episode_id=row["episode_id"],
        kind=AlertKind(row["kind"]),
        urgent=bool(row["urgent"]),
        text=row["text"],
        with_chart=bool(row["with_chart"]),
        created_at=from_ts(row["created_at"]),
        sent=row["state"] == "sent",
        attempts=row["attempts"],
        last_error=None if row["last_error"] is None else DeliveryProblem(row["last_error"]),
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        photo=bool(row["photo"]),
        acknowledged_at=opt_from_ts(row["acknowledged_at"]),
        acknowledged_by=row["acknowledged_by"],
        resolved_at=opt_from_ts(row["resolved_at"]),
        reminders_sent=row["reminders_sent"],
        sent_at=opt_from_ts(row["sent_at"]),
        escalations=row["escalations"],
    )


async def insert_alert(
    conn: Transaction,
    *,
    patient_id: int,
    episode_id: int | None,
    alert: NewAlert,
    now: datetime,
) -> int | None:
    """Insert an alert; None when one with the same event key exists."""
    remind_at = None if alert.remind_after is None else to_ts(now) + alert.remind_after
    escalate_at = None if alert.escalate_after is None else to_ts(now) + alert.escalate_after
    rows = list(
        await conn.fetch_all(
            "INSERT INTO alerts (patient_id, episode_id, kind, urgent, text, with_chart,"
            " created_at, next_attempt_at, remind_at, remind_every, event_key, escalate_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (event_key) WHERE event_key IS NOT NULL DO NOTHING RETURNING id",
            (
                patient_id,
                episode_id,
                alert.kind,
                int(alert.urgent),
                alert.text,
                int(alert.with_chart),
                to_ts(now),
                to_ts(now),
                remind_at,
                alert.remind_every,
                alert.event_key,
                escalate_at,
            ),
        )
    )
    return int(rows[0]["id"]) if rows else None


async def record_carrier(conn: Transaction, alert_id: int, chat_id: int, message_id: int) -> None:
    await conn.execute(
        "INSERT INTO alert_messages (chat_id, message_id, alert_id) VALUES (?, ?, ?)"
        " ON CONFLICT (chat_id, message_id) DO UPDATE SET alert_id = excluded.alert_id",
        (chat_id, message_id, alert_id),
    )


class AlertRepository:
    """Episodes and alerts; an alert is stored before any attempt to send it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_episode(
        self,
        *,
        patient_id: int,
        kind: EpisodeKind,
        since: datetime,
        explanation: str,
        now: datetime,
        alert: NewAlert,
        detected_at: datetime | None = None,
    ) -> Alert | None:
        """Open an episode and store its alert; None if one of that kind is already open.

        `detected_at` is the moment of the observation that confirmed it (default `now`).
        """
        detected = now if detected_at is None else detected_at
        async with self._db.write() as conn:
            rows = list(
                await conn.fetch_all(
                    "INSERT INTO episodes (patient_id, kind, since, detected_at, explanation)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (patient_id, kind) WHERE ended_at IS NULL DO NOTHING"
                    " RETURNING id",
                    (patient_id, kind, to_ts(since), to_ts(detected), explanation),
                )
            )
            if not rows:
                return None
            alert_id = await insert_alert(
                conn, patient_id=patient_id, episode_id=rows[0]["id"], alert=alert, now=now
            )
        return None if alert_id is None else await self.get(alert_id)

    async def add(
        self,
        *,
        patient_id: int,
        alert: NewAlert,
        now: datetime,
        episode_id: int | None = None,
        once_per_episode: bool = False,
    ) -> Alert | None:
        """Store an alert outside the detector (a crisis message, a contact request).

        With once_per_episode, returns None if an alert of this kind exists for the episode.
        """
        async with self._db.write() as conn:
            if once_per_episode:
                existing = list(
                    await conn.fetch_all(
                        "SELECT 1 FROM alerts"
                        " WHERE patient_id = ? AND kind = ? AND episode_id IS NOT DISTINCT FROM ?",
                        (patient_id, alert.kind, episode_id),
                    )
                )
                if existing:
                    return None
            alert_id = await insert_alert(
                conn, patient_id=patient_id, episode_id=episode_id, alert=alert, now=now
            )
        return None if alert_id is None else await self.get(alert_id)

    async def record_crisis(
        self,
        *,
        patient_id: int,
        note_checkin_id: int | None,
        text: str,
        update_id: int | None,
        now: datetime,
        first: NewAlert,
        follow_up: NewAlert,
    ) -> Alert | None:
        """Keep the patient's words as a note and store an urgent alert, in one transaction.

        The first alert while none is unacknowledged repeats until acknowledged; later ones
        go out once as follow-ups, so a patient in distress writing many times does not set
        off a storm of repeating alerts. None when this update was recorded before.
        """
        async with self._db.write() as conn:
            note = list(
                await conn.fetch_all(
                    "INSERT INTO notes (patient_id, checkin_id, text, created_at, update_id)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING RETURNING id",
                    (patient_id, note_checkin_id, text, to_ts(now), update_id),
                )
            )
            if not note:
                return None
            open_alert = list(
                await conn.fetch_all(
                    "SELECT 1 FROM alerts WHERE patient_id = ? AND kind = ? AND urgent = 1"
                    " AND remind_every IS NOT NULL"
                    " AND acknowledged_at IS NULL AND resolved_at IS NULL",
                    (patient_id, first.kind),
                )
            )
            alert_id = await insert_alert(
                conn,
                patient_id=patient_id,
                episode_id=None,
                alert=follow_up if open_alert else first,
                now=now,
            )
        return None if alert_id is None else await self.get(alert_id)

    async def get(self, alert_id: int) -> Alert | None:
        """Return an alert by id."""
        row = await self._db.fetch_one(
            f"SELECT {ALERT_COLUMNS} FROM {ALERTS_FROM} WHERE a.id = ?", (alert_id,)
        )
        return None if row is None else alert_of(row)

    async def claim_due(
        self, now: datetime, *, limit: int, urgent_only: bool = False
    ) -> list[Alert]:
        """Claim up to `limit` pending alerts whose next attempt is due, urgent and oldest first.

        Each is not due for anyone else for QUEUED_LEASE (CLAIM_LEASE if urgent, since it
        bypasses the flood queue); `mark_sent` or `mark_retry` ends the claim. An alert whose
        sender died is due again when the lease ends and is sent again (at least once: staff
        may see it twice, never not at all).
        """
        return await self._claim(
            "a.state = 'pending' AND a.next_attempt_at <= ? AND a.urgent >= ?"
            " ORDER BY a.urgent DESC, a.created_at, a.id LIMIT ?",
            (to_ts(now), int(urgent_only), limit),
            due_column="next_attempt_at",
            now=now,
        )

    async def claim(self, alert_id: int, *, now: datetime) -> Alert | None:
        """Claim one alert to send it at once; None if it is sent or not due.

        Not due means another sender holds it, or it waits for its retry. The claim ends as
        `claim_due`'s do.
        """
        claimed = await self._claim(
            "a.id = ? AND a.state = 'pending' AND a.next_attempt_at <= ?",
            (alert_id, to_ts(now)),
            due_column="next_attempt_at",
            now=now,
        )
        return claimed[0] if claimed else None

    async def _claim(
        self, where: str, params: tuple[object, ...], *, due_column: str, now: datetime
    ) -> list[Alert]:
        """Claim the alerts `where` finds; urgent ones bypass the flood queue (short lease)."""
        rows = await claim_rows(
            self._db,
            f"SELECT {ALERT_COLUMNS} FROM {ALERTS_FROM} WHERE {where}",
            params,
            alias="a",
            table="alerts",
            due_column=due_column,
            now=now,
            lease=QUEUED_LEASE,
            urgent_lease=CLAIM_LEASE,
        )
        return [alert_of(row) for row in rows]

    async def next_attempt(self) -> datetime | None:
        """Return when the earliest pending alert may be tried again."""
        row = await self._db.fetch_one(
            "SELECT min(next_attempt_at) FROM alerts WHERE state = 'pending'"
        )
        return None if row is None or row[0] is None else from_ts(row[0])

    async def mark_sent(
        self, alert_id: int, *, chat_id: int, message_id: int, photo: bool, now: datetime
    ) -> None:
        """Record delivery of an alert."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE alerts SET state = 'sent', sent_at = ?, chat_id = ?, message_id = ?,"
                " photo = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                (to_ts(now), chat_id, message_id, int(photo), alert_id),
            )
            await record_carrier(conn, alert_id, chat_id, message_id)

    async def mark_retry(
        self, alert_id: int, *, retry_at: datetime, problem: DeliveryProblem
    ) -> None:
        """Record a failed attempt and when to try again."""
        await self._db.write_one(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE id = ? AND state = 'pending'",
            (problem, to_ts(retry_at), alert_id),
        )

    async def claim_reminders(self, now: datetime, *, limit: int) -> list[Alert]:
        """Claim up to `limit` unacknowledged alerts whose reminder is due, urgent first.

        Each reminder is not due for anyone else for QUEUED_LEASE (CLAIM_LEASE if urgent);
        `reminder_sent` or `reminder_failed` ends the claim (acknowledging or resolving the
        alert too). One whose sender died is sent when the lease ends (at least once).
        """
        return await self._claim(
            "a.state = 'sent' AND a.acknowledged_at IS NULL AND a.resolved_at IS NULL"
            " AND a.remind_at IS NOT NULL AND a.remind_at <= ?"
            " ORDER BY a.urgent DESC, a.remind_at LIMIT ?",
            (to_ts(now), limit),
            due_column="remind_at",
            now=now,
        )

    async def reminder_sent(
        self, alert_id: int, *, now: datetime, chat_id: int, message_id: int
    ) -> None:
        """Count a reminder (a new message with the alert's buttons) and plan the next one."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE alerts SET reminders_sent = reminders_sent + 1,"
                " remind_at = CASE WHEN remind_every IS NULL THEN NULL"
                " ELSE ? + remind_every END WHERE id = ?",
                (to_ts(now), alert_id),
            )
            await record_carrier(conn, alert_id, chat_id, message_id)

    async def carried_by(self, alert_id: int, *, chat_id: int, message_id: int) -> bool:
        """Tell whether this message is the alert's own (the alert or one of its reminders)."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM alert_messages WHERE chat_id = ? AND message_id = ? AND alert_id = ?",
            (chat_id, message_id, alert_id),
        )
        return row is not None

    async def reminder_failed(self, alert_id: int, *, retry_at: datetime) -> None:
        """Try a reminder again later."""
        await self._db.write_one(
            "UPDATE alerts SET remind_at = ? WHERE id = ?", (to_ts(retry_at), alert_id)
        )

    async def acknowledge(self, alert_id: int, *, staff_id: int, now: datetime) -> Alert | None:
        """Record the first acknowledgement of an alert; None if it was already acknowledged."""
        changed = await self._db.write_one(
            "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, remind_at = NULL"
            " WHERE id = ? AND acknowledged_at IS NULL RETURNING id",
            (to_ts(now), staff_id, alert_id),
        )
        return await self.get(alert_id) if changed else None

    async def resolve(self, alert_id: int, *, staff_id: int, now: datetime) -> Alert | None:
        """End the alert's episode by staff decision; None if it was already resolved."""
        async with self._db.write() as conn:
            rows = list(
                await conn.fetch_all(
                    "UPDATE alerts SET resolved_at = ?, remind_at = NULL,"
                    " acknowledged_at = coalesce(acknowledged_at, ?),"
                    " acknowledged_by = coalesce(acknowledged_by, ?)"
                    " WHERE id = ? AND resolved_at IS NULL RETURNING episode_id",
                    (to_ts(now), to_ts(now), staff_id, alert_id),
                )
            )
            if not rows:
                return None
            if rows[0]["episode_id"] is not None:
                await conn.execute(
                    "UPDATE episodes SET ended_at = ?, end_reason = ?,"
                    " ended_by = ? WHERE id = ? AND ended_at IS NULL",
                    (
                        to_ts(now),
                        EpisodeEndReason.RESOLVED_BY_STAFF,
                        staff_id,
                        rows[0]["episode_id"],
                    ),
                )
        return await self.get(alert_id)

    async def resolve_patient(self, patient_id: int, *, staff_id: int, now: datetime) -> int:
        """End every open episode and alert of a patient; return how many episodes ended."""
        async with self._db.write() as conn:
            ended = list(
                await conn.fetch_all(
                    "UPDATE episodes SET ended_at = ?, end_reason = ?,"
                    " ended_by = ? WHERE patient_id = ? AND ended_at IS NULL RETURNING id",
                    (to_ts(now), EpisodeEndReason.RESOLVED_BY_STAFF, staff_id, patient_id),
                )
            )
            await conn.execute(
                "UPDATE alerts SET resolved_at = ?, remind_at = NULL,"
                " acknowledged_at = coalesce(acknowledged_at, ?),"
                " acknowledged_by = coalesce(acknowledged_by, ?)"
                " WHERE patient_id = ? AND resolved_at IS NULL",
                (to_ts(now), to_ts(now), staff_id, patient_id),
            )
        return len(ended)

    async def open_alerts(self) -> list[Alert]:
        """Return alerts not yet resolved, urgent and newest first."""
        rows = await self._db.fetch_all(
            f"SELECT {ALERT_COLUMNS} FROM {ALERTS_FROM} WHERE a.resolved_at IS NULL"
            " AND (a.episode_id IS NULL OR EXISTS (SELECT 1 FROM episodes e"
            "   WHERE e.id = a.episode_id AND e.ended_at IS NULL))"
            " AND NOT (a.episode_id IS NULL AND a.acknowledged_at IS NOT NULL)"
            " ORDER BY a.urgent DESC, a.created_at DESC, a.id DESC LIMIT 50"
        )
        return [alert_of(row) for row in rows]

    async def for_patient(self, patient_id: int, *, limit: int = 10) -> list[Alert]:
        """Return a patient's most recent alerts."""
        rows = await self._db.fetch_all(
            f"SELECT {ALERT_COLUMNS} FROM {ALERTS_FROM} WHERE a.patient_id = ?"
            " ORDER BY a.created_at DESC, a.id DESC LIMIT ?",
            (patient_id, limit),
        )
        return [alert_of(row) for row in rows]
