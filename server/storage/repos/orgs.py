"""Organisations and their staff (tables ``orgs``, ``users``, ``staff_tokens``)."""

from __future__ import annotations

from typing import Any

from server.domain.models import Role, StaffUser
from server.security.auth import new_id
from server.storage.db import Connection, dumps, loads
from server.storage.errors import Conflict
from server.storage.repos.base import Repository, epoch_s


class OrgRepository(Repository):
    """Organisations and their settings."""

    async def create_org(self, name: str) -> str:
        org_id = new_id("org")
        await self.db.execute(
            "INSERT INTO orgs(id, name, created_at) VALUES(?,?,?)", org_id, name, epoch_s()
        )
        return org_id

    async def first_org(self) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM orgs ORDER BY created_at LIMIT 1")
        return dict(row) if row else None

    async def get_org(self, org_id: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM orgs WHERE id=?", org_id)
        return dict(row) if row else None

    async def org_settings(self, org_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT settings FROM orgs WHERE id=?", org_id)
        return dict(loads(row["settings"]) or {}) if row and row["settings"] else {}

    async def set_org_settings(self, org_id: str, settings: dict[str, Any]) -> None:
        await self.db.execute("UPDATE orgs SET settings=? WHERE id=?", dumps(settings), org_id)

    async def all_orgs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.db.fetchall("SELECT * FROM orgs ORDER BY id")]


class StaffRepository(Repository):
    """Staff accounts and their bearer tokens (stored hashed)."""

    async def create_user(
        self, org_id: str, username: str, password_hash: str, role: Role, department: str = ""
    ) -> str:
        user_id = new_id("usr")
        added = await self.db.execute(
            "INSERT INTO users(id, org_id, username, password_hash, role, department, created_at)"
            " VALUES(?,?,?,?,?,?,?) ON CONFLICT (username) DO NOTHING",
            user_id,
            org_id,
            username,
            password_hash,
            role.value,
            department,
            epoch_s(),
        )
        if not added:
            raise Conflict(f"username {username!r} is taken")
        return user_id

    async def user_by_username(self, username: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM users WHERE username=? AND active=1", username)
        return dict(row) if row else None

    async def users(self, org_id: str) -> list[StaffUser]:
        """The active staff of an org, by user name."""
        rows = await self.db.fetchall(
            "SELECT * FROM users WHERE org_id=? AND active=1 ORDER BY username", org_id
        )
        return [StaffUser.from_row(dict(r)) for r in rows]

    async def set_password(self, user_id: str, password_hash: str) -> None:
        await self.db.execute("UPDATE users SET password_hash=? WHERE id=?", password_hash, user_id)

    async def add_staff_token(self, token_hash: str, user_id: str, expires_at: float) -> None:
        """Store a new token (and drop the expired ones)."""

        def work(conn: Connection) -> None:
            conn.execute("DELETE FROM staff_tokens WHERE expires_at < ?", (epoch_s(),))
            conn.execute(
                "INSERT INTO staff_tokens(token_hash, user_id, expires_at) VALUES(?,?,?)",
                (token_hash, user_id, expires_at),
            )

        await self.db.transaction(work)

    async def user_by_token(self, token_hash: str) -> StaffUser | None:
        row = await self.db.fetchone(
            "SELECT u.* FROM staff_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash=? AND t.expires_at > ? AND u.active=1",
            token_hash,
            epoch_s(),
        )
        return StaffUser.from_row(dict(row)) if row else None
