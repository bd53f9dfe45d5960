"""Masking of household names and phone numbers (张*华, 138****5678).

The rule (issue 10 "shown in full only to users whose jurisdiction includes the household"):
every reader of a household already has it in jurisdiction (`visible_to`), so the line is
drawn by role and by view. The roles that handle households (administrators, township staff,
secretaries, grid workers: `User.sees_full_personal_data`) read names and phones in full in
their scope. Leaders and auditors read lists, list APIs and exports masked, and in full only
on one household's own page (or its API detail), which they open one at a time.
"""


def mask_name(name: str) -> str:
    """张三 → 张*, 张三华 → 张*华, 欧阳小明 → 欧**明."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; shorter numbers keep their first and last two characters."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    if len(phone) <= 4:
        return "*" * len(phone)
    return phone[:2] + "*" * (len(phone) - 4) + phone[-2:]


def shows_full(user, *, detail: bool = False) -> bool:
    """Whether `user` reads names and phones in full: on one household's page (detail) every
    reader in jurisdiction does, in lists and exports the handling roles only."""
    return detail or getattr(user, "sees_full_personal_data", False)


def shown_name(user, name: str, *, detail: bool = False) -> str:
    return name if shows_full(user, detail=detail) else mask_name(name)


def shown_phone(user, phone: str, *, detail: bool = False) -> str:
    return phone if shows_full(user, detail=detail) else mask_phone(phone)
