"""Demo logins: one per role, all with the same printed password."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from branches.models import OrgUnit

# Passes Django's validators (length, not common, not numeric, not like the usernames).
DEMO_PASSWORD = "WuXing-Demo-2026"
# (username, role, where they work, name). demo_zhen_b exists only when two townships are
# seeded; the secretary takes the name of their branch's secretary.
DEMO_ACCOUNTS = [
    ("demo_admin", "ADMIN", None, "孙明"),
    ("demo_sheng", "LEADER", "province", "张建国"),
    ("demo_xian", "LEADER", "county", "李卫东"),
    ("demo_zhen_a", "TOWNSHIP_STAFF", "township_a", "王丽"),
    ("demo_zhen_b", "TOWNSHIP_STAFF", "township_b", "赵磊"),
    ("demo_shuji", "SECRETARY", "village", None),
    ("demo_shenji", "AUDITOR", "county", "陈静"),
    ("demo_wangge", "GRID_WORKER", "grid_unit", "刘芳"),
]
DEMO_USERNAMES = [username for username, *_rest in DEMO_ACCOUNTS]


@transaction.atomic
def demo_users_create(
    *,
    province: OrgUnit,
    county: OrgUnit,
    townships: list[OrgUnit],
    village: OrgUnit,
    grid_unit: OrgUnit,
    password: str = DEMO_PASSWORD,
) -> list:
    """One login per role (two township staff when two townships are given), all with `password`.

    Existing accounts with these usernames are updated, so calling it twice is harmless.
    """
    User = get_user_model()
    workplaces = {
        "province": province,
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
