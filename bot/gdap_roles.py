"""Entra built-in roles a GDAP request can ask for, with Microsoft's recommended default set.

Ids are role template ids from `shared/reference/microsoft-partner-apis.md`; Graph takes them
as `accessDetails.unifiedRoles[].roleDefinitionId`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    recommended: bool


GLOBAL_ADMINISTRATOR_ID = "62e90394-69f5-4237-9190-012177145e10"

ROLES: tuple[Role, ...] = (
    # Microsoft's least-privilege defaults for new customers (since 2023-09-25).
    Role("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers", True),
    Role("9360feb5-f418-4baa-8175-e2a00bac4301", "Directory Writers", True),
    Role("4d6ac14f-3453-41d0-bef9-a3e0c569773a", "License Administrator", True),
    Role("f023fd81-a637-4b56-95fd-791ac0226033", "Service Support Administrator", True),
    Role("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator", True),
    Role("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator", True),
    Role("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator", True),
    Role("7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "Privileged Authentication Administrator", True),
    Role("158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator", True),
    Role("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator", True),
    Role("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader", True),
    # Roles partners commonly add ("Show additional roles").
    Role("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator", False),
    Role("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator", False),
    Role("69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator", False),
    Role("3a2c62db-5318-420d-8d74-23affee5d9d5", "Intune Administrator", False),
    Role("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator", False),
    Role("892c5842-a9a6-463a-8041-72aa08ca3cf6", "Cloud App Security Administrator", False),
    Role("7698a772-787b-4ac8-901f-60d6b08affd2", "Cloud Device Administrator", False),
    Role("0526716b-113d-4c15-b2c8-68e3c22b9f80", "Authentication Policy Administrator", False),
    Role("b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator", False),
    Role("8329153b-31d0-4727-b945-745eb3bc5f31", "Domain Name Administrator", False),
    Role("be2f45a1-457d-42af-a067-6ec1fa63bc45", "External Identity Provider Administrator", False),
    Role(GLOBAL_ADMINISTRATOR_ID, "Global Administrator", False),
)

ROLES_BY_ID: dict[str, Role] = {role.id: role for role in ROLES}
RECOMMENDED_ROLE_IDS: tuple[str, ...] = tuple(role.id for role in ROLES if role.recommended)
ADDITIONAL_ROLE_IDS: tuple[str, ...] = tuple(role.id for role in ROLES if not role.recommended)


def role_names(role_ids: list[str] | tuple[str, ...]) -> list[str]:
    return [ROLES_BY_ID[rid].name if rid in ROLES_BY_ID else rid for rid in role_ids]


def find_role(text: str) -> Role | None:
    """A role by id, or by name in any case and spacing ("global admin" is not guessed)."""
    wanted = " ".join(text.split()).casefold()
    for role in ROLES:
        if wanted in (role.id, role.name.casefold()):
            return role
    return None
