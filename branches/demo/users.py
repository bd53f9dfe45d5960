"""Demo logins: one per role (two staff in township A), all with the same printed password.

The reports of townships without a demo login need people too (a submitter, and a different
reviewer): `township_staff()` gives each township a maker and a checker, creating colleague
accounts that cannot log in where the demo logins do not cover it.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from branches.models import OrgUnit

# Passes Django's validators (length, not common, not numeric, not like the usernames).
DEMO_PASSWORD = "WuXing-Demo-2026"
# (username, role, where they work, name). demo_zhen_b exists only when two townships are
# seeded; the secretary takes the name of their branch's secretary. In township A,
# demo_zhen_a enters and submits, demo_zhen_a2 reviews (maker and checker are two people).
DEMO_ACCOUNTS = [
    ("demo_admin", "ADMIN", None, "孙明"),
    ("demo_sheng", "LEADER", "province", "张建国"),
    ("demo_shi", "LEADER", "city", "郭振华"),
    ("demo_xian", "LEADER", "county", "李卫东"),
    ("demo_zhen_a", "TOWNSHIP_STAFF", "township_a", "王丽"),
    ("demo_zhen_a2", "TOWNSHIP_STAFF", "township_a", "周敏"),
    ("demo_zhen_b", "TOWNSHIP_STAFF", "township_b", "赵磊"),
    ("demo_shuji", "SECRETARY", "village", None),
    ("demo_shenji", "AUDITOR", "county", "陈静"),
    ("demo_wangge", "GRID_WORKER", "grid_unit", "刘芳"),
]
DEMO_USERNAMES = [username for username, *_rest in DEMO_ACCOUNTS]
# Colleagues who enter or review a township's reports in the demo but have no login.
COLLEAGUE_NAMES = ["吴建华", "马秀英", "韩志强", "冯海燕", "曹永刚", "邓丽萍", "许文军", "彭春燕"]


@transaction.atomic
def demo_users_create(
    *,
    province: OrgUnit,
    city: OrgUnit,
    county: OrgUnit,
    townships: list[OrgUnit],
    village: OrgUnit,
    grid_unit: OrgUnit,
    password: str = DEMO_PASSWORD,
) -> list:
    """One login per role (staff of township B when two townships are given), all with `password`.

    Existing accounts with these usernames are updated, so calling it twice is harmless.
    """
    User = get_user_model()
    workplaces = {
        "province": province,
        "city": city,
        "county": county,
        "township_a": townships[0],
        "township_b": townships[1] if len(townships) > 1 else None,
        "village": village,
        "grid_unit": grid_unit,
    }
    # One hash for all: hashing is deliberately slow, and every demo account shares the password.
    hashed = make_password(password)
    users = []
    for username, role, workplace, full_name in DEMO_ACCOUNTS:
        unit = workplaces[workplace] if workplace else None
        if workplace and unit is None:
            continue
        name = full_name or village.secretary_name
        fields = {"last_name": name[0], "first_name": name[1:]}
        validate_password(password, User(username=username, **fields))
        user, _created = User.objects.update_or_create(
            username=username,
            defaults={
                **fields,
                "role": role,
                "unit": unit,
                "is_staff": role == User.Role.ADMIN,
                "is_superuser": role == User.Role.ADMIN,
                "is_active": True,
                "password": hashed,
            },
        )
        users.append(user)
    return users


@dataclass(frozen=True)
class Staff:
    """Who enters and submits a township's reports, and who reviews them."""

    maker: object
    checker: object


def township_staff(townships: list[OrgUnit]) -> dict[int, Staff]:
    """Township id -> its maker and checker (two different people).

    The township's own staff logins come first, in username order: with two, the first
    submits and the second reviews; with one, that login reviews, so it has work waiting.
    Missing people are colleague accounts (`staff_<code>_<n>`) with no usable password.
    """
    User = get_user_model()
    logins: dict[int, list] = {}
    for user in User.objects.filter(
        role=User.Role.TOWNSHIP_STAFF, unit__in=townships, is_active=True
    ).order_by("username"):
        if user.has_usable_password():
            logins.setdefault(user.unit_id, []).append(user)
    staff = {}
    for index, township in enumerate(townships):
        own = logins.get(township.pk, [])[:2]
        needed = 2 - len(own)
        colleagues = [
            _colleague(township, n, COLLEAGUE_NAMES[(2 * index + n) % len(COLLEAGUE_NAMES)])
            for n in range(1, needed + 1)
        ]
        maker, checker = own if len(own) == 2 else [*colleagues, *own]
        staff[township.pk] = Staff(maker=maker, checker=checker)
    return staff


def _colleague(township: OrgUnit, n: int, name: str):
    User = get_user_model()
    user, _created = User.objects.get_or_create(
        username=f"staff_{township.code}_{n}",
        defaults={
            "role": User.Role.TOWNSHIP_STAFF,
            "unit": township,
            "last_name": name[0],
            "first_name": name[1:],
            "password": make_password(None),
        },
    )
    return user
