"""Patients and their invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.codes import CheckinState, CloseReason, PatientStatus, RedeemOutcome
from bot.domain.entities import Patient, PatientOverview, Redemption, TextContext
from bot.domain.errors import AfterglowError

from ._database import Database, Row, Transaction
from ._time import from_ts, opt_from_ts, to_ts

PATIENT_COLUMNS = (
    "id, code, label, status, telegram_user_id, chat_id, timezone, checkin_time,"
    " consent_at, created_at, awaiting_note_checkin_id, status_changed_at, consent_version,"
    " deleted_at"
)


class CodeTakenError(AfterglowError):
    """The generated patient code already exists; generate another."""


def patient_from_row(row: Row) -> Patient:
    """Build a Patient from a row selected with PATIENT_COLUMNS."""
    return Patient(
        id=row["id"],
        code=row["code"],
        label=row["label"],
        status=PatientStatus(row["status"]),
        telegram_user_id=row["telegram_user_id"],
        chat_id=row["chat_id"],
        timezone=row["timezone"],
        checkin_time=row["checkin_time"],
        consent_at=opt_from_ts(row["consent_at"]),
        created_at=from_ts(row["created_at"]),
        awaiting_note_checkin_id=row["awaiting_note_checkin_id"],
        status_changed_at=opt_from_ts(row["status_changed_at"]),
        consent_version=row["consent_version"],
        deleted_at=opt_from_ts(row["deleted_at"]),
    )


async def _one(conn: Transaction, sql: str, params: Sequence[object]) -> Patient | None:
    rows = list(await conn.fetch_all(sql, params))
    return patient_from_row(rows[0]) if rows else None


class PatientRepository:
    """Reads and writes patients and invitations."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _read(self, where: str, value: object) -> Patient | None:
        row = await self._db.fetch_one(
            f"SELECT {PATIENT_COLUMNS} FROM patients WHERE {where}", (value,)
        )
        return None if row is None else patient_from_row(row)

    async def create_invited(
        self,
        *,
        code: str,
        label: str | None,
        timezone: str,
        token_hash: str,
        now: datetime,
        expires_at: datetime,
        created_by: int,
        update_id: int | None,
    ) -> Patient | None:
        """Create a patient with an invitation; None if this update already created one."""
        async with self._db.write() as conn:
            taken = list(
                await conn.fetch_all(
                    "SELECT code = ? AS same_code FROM patients"
                    " WHERE code = ? OR (created_update_id IS NOT NULL AND created_update_id = ?)",
                    (code, code, update_id),
                )
            )
            if any(not row["same_code"] for row in taken):
                return None
            if taken:
                raise CodeTakenError(code)
            patient = await _one(
                conn,
                "INSERT INTO patients (code, label, status, timezone, created_at, created_by,"
                f" created_update_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {PATIENT_COLUMNS}",
                (code, label, PatientStatus.INVITED, timezone, to_ts(now), created_by, update_id),
            )
            assert patient is not None
            await conn.execute(
                "INSERT INTO invites (patient_id, token_hash, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (patient.id, token_hash, to_ts(now), to_ts(expires_at)),
            )
        return patient

    async def redeem(
        self, *, token_hash: str, user_id: int, chat_id: int, now: datetime
    ) -> Redemption:
        """Bind a Telegram user to the invited patient if the token is valid and unused."""
        async with self._db.write() as conn:
            existing = await _one(
                conn,
                f"SELECT {PATIENT_COLUMNS} FROM patients WHERE telegram_user_id = ?",
                (user_id,),
            )
            # A patient who stopped may start again with a new invitation from the clinic;
            # anyone else bound to a record keeps it.
            if existing is not None and existing.status is not PatientStatus.STOPPED:
                own = list(
                    await conn.fetch_all(
                        "SELECT 1 FROM invites WHERE token_hash = ? AND patient_id = ?",
                        (token_hash, existing.id),
                    )
                )
                outcome = RedeemOutcome.OWN_LINK if own else RedeemOutcome.ALREADY_ENROLLED
                return Redemption(outcome, existing)
            rows = list(
                await conn.fetch_all(
                    "SELECT i.id, i.patient_id, i.expires_at, i.used_at, p.status"
                    " FROM invites i JOIN patients p ON p.id = i.patient_id"
                    " WHERE i.token_hash = ?",
                    (token_hash,),
                )
            )
            if not rows:
                return Redemption(
                    RedeemOutcome.UNKNOWN if existing is None else RedeemOutcome.ALREADY_ENROLLED,
                    existing,
                )
            invite = rows[0]
            if invite["used_at"] is not None or invite["status"] != PatientStatus.INVITED:
                return Redemption(RedeemOutcome.USED, None)
            if invite["expires_at"] <= to_ts(now):
                return Redemption(RedeemOutcome.EXPIRED, None)
            if existing is not None:
                await conn.execute(
                    "UPDATE patients SET telegram_user_id = NULL WHERE id = ?", (existing.id,)
                )
            await conn.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE id = ?",
                (to_ts(now), user_id, invite["id"]),
            )
            patient = await _one(
                conn,
                "UPDATE patients SET telegram_user_id = ?, chat_id = ?, status = ?,"
                f" status_changed_at = ? WHERE id = ? RETURNING {PATIENT_COLUMNS}",
                (
                    user_id,
                    chat_id,
                    PatientStatus.CONSENT_PENDING,
                    to_ts(now),
                    invite["patient_id"],
                ),
            )
        return Redemption(RedeemOutcome.ENROLLED, patient)

    async def record_consent(
        self, patient_id: int, *, now: datetime, default_time: str, version: str | None = None
    ) -> Patient | None:
        """Record consent (and the version of the text agreed to) and activate the patient.

        None if consent was already given.
        """
        async with self._db.write() as conn:
            return await _one(
                conn,
                "UPDATE patients SET consent_at = ?, status_changed_at = ?, status = ?,"
                " checkin_time = coalesce(checkin_time, ?), consent_version = ?"
                " WHERE id = ? AND status = ? AND consent_at IS NULL"
                f" RETURNING {PATIENT_COLUMNS}",
                (
                    to_ts(now),
                    to_ts(now),
                    PatientStatus.ACTIVE,
                    default_time,
                    version,
                    patient_id,
                    PatientStatus.CONSENT_PENDING,
                ),
            )

    async def get(self, patient_id: int) -> Patient | None:
        """Return a patient by id."""
        return await self._read("id = ?", patient_id)

    async def by_code(self, code: str) -> Patient | None:
        """Return a patient by pseudonymous code."""
        return await self._read("code = ?", code)

    async def by_user(self, telegram_user_id: int) -> Patient | None:
        """Return the patient bound to a Telegram user."""
        return await self._read("telegram_user_id = ?", telegram_user_id)

    async def text_context(self, user_id: int, update_id: int | None) -> TextContext | None:
        """Return the user's patient, open check-in and whether this update was stored."""
        row = await self._db.fetch_one(
            f"SELECT {PATIENT_COLUMNS},"
            " (SELECT c.id FROM checkins c WHERE c.patient_id = patients.id AND c.state = 'sent'"
            "   ORDER BY c.due_at DESC, c.id DESC LIMIT 1) AS open_checkin_id,"
            " (EXISTS (SELECT 1 FROM checkins WHERE answer_update_id = ?)"
            "  OR EXISTS (SELECT 1 FROM notes WHERE update_id = ?)) AS seen"
            " FROM patients WHERE telegram_user_id = ?",
            (update_id, update_id, user_id),
        )
        if row is None:
            return None
        return TextContext(
            patient=patient_from_row(row),
            open_checkin_id=row["open_checkin_id"],
            already_seen=bool(row["seen"]),
        )

    async def set_status(
        self,
        patient_id: int,
        status: PatientStatus,
        *,
        now: datetime,
        only_from: set[PatientStatus],
    ) -> Patient | None:
        """Change status if the current one is in only_from; stopping cancels what is pending."""
        placeholders = ",".join("?" for _ in only_from)
        async with self._db.write() as conn:
            patient = await _one(
                conn,
                "UPDATE patients SET status = ?, awaiting_note_checkin_id = NULL,"
                " status_changed_at = ?"
                f" WHERE id = ? AND status IN ({placeholders}) RETURNING {PATIENT_COLUMNS}",
                (status, to_ts(now), patient_id, *sorted(only_from)),
            )
            if patient is not None and status is PatientStatus.STOPPED:
                await cancel_open_checkins(conn, patient_id, now)
            return patient

    async def change_checkin_time(
        self, patient_id: int, checkin_time: str, changes: Sequence[tuple[int, datetime]]
    ) -> int:
        """Set the preferred time and move pending check-ins; returns how many moved."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE patients SET checkin_time = ? WHERE id = ?", (checkin_time, patient_id)
            )
            return await conn.execute_many(
                "UPDATE checkins SET due_at = ?, next_attempt_at = NULL"
                " WHERE id = ? AND patient_id = ? AND state = 'pending'",
                [(to_ts(due_at), checkin_id, patient_id) for checkin_id, due_at in changes],
            )

    async def set_awaiting_note(self, patient_id: int, checkin_id: int | None) -> None:
        """Remember (or forget) which answered check-in the next free text annotates."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE patients SET awaiting_note_checkin_id = ? WHERE id = ?",
                (checkin_id, patient_id),
            )

    async def overview(self) -> list[PatientOverview]:
        """Return every patient with last score and last infusion, newest patients first."""
        rows = await self._db.fetch_all(
            "SELECT p.code, p.label, p.status,"
            " (SELECT c.score FROM checkins c WHERE c.patient_id = p.id AND c.state = ?"
            "   ORDER BY c.answered_at DESC LIMIT 1) AS last_score,"
            " (SELECT max(c.answered_at) FROM checkins c WHERE c.patient_id = p.id"
            "   AND c.state = ?) AS last_score_at,"
            " (SELECT max(i.given_at) FROM infusions i WHERE i.patient_id = p.id)"
            "   AS last_infusion_at, p.deleted_at"
            " FROM patients p ORDER BY p.id DESC",
            (CheckinState.ANSWERED, CheckinState.ANSWERED),
        )
        return [
            PatientOverview(
                code=row["code"],
                label=row["label"],
                status=PatientStatus(row["status"]),
                last_score=row["last_score"],
                last_score_at=opt_from_ts(row["last_score_at"]),
                last_infusion_at=opt_from_ts(row["last_infusion_at"]),
                deleted_at=opt_from_ts(row["deleted_at"]),
            )
            for row in rows
        ]


async def cancel_open_checkins(conn: Transaction, patient_id: int, now: datetime) -> None:
    """Cancel a patient's pending and sent check-ins: follow-up for them has ended."""
    await conn.execute(
        "UPDATE checkins SET state = ?, close_reason = ?, closed_at = ?"
        " WHERE patient_id = ? AND state IN (?, ?)",
        (
            CheckinState.CANCELLED,
            CloseReason.PATIENT_STOPPED,
            to_ts(now),
            patient_id,
            CheckinState.PENDING,
            CheckinState.SENT,
        ),
    )
