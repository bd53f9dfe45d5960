"""Load the town-scale demo into an empty database; leave an existing one alone.

`make run` calls this on every start, so a second run keeps the data (and any
changes made in the browser) instead of seeding on top of it.
"""

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.demo.users import DEMO_PASSWORD
from branches.models import OrgUnit
from governance.models import User

LISTED_USERS = 20


class Command(BaseCommand):
    help = gettext_lazy("数据库为空时载入乡镇规模的演示数据；已有数据时只列出可登录的账号。")

    def handle(self, *args, **options):
        if not OrgUnit.objects.exists():
            call_command("seed_demo", scale="town", stdout=self.stdout, stderr=self.stderr)
            return

        self.stdout.write(
            _("数据库里已有 %(count)d 个组织单位，未重新载入演示数据。")
            % {"count": OrgUnit.objects.count()}
        )
        # Accounts without a usable password (the demo's colleagues) cannot log in.
        users = list(
            User.objects.filter(is_active=True)
            .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
            .select_related("unit")
            .order_by("role", "username")[:LISTED_USERS]
        )
        if not users:
            self.stdout.write(
                _("还没有可登录的账号：运行 .venv/bin/python manage.py createsuperuser 创建一个。")
            )
            return
        self.stdout.write(_("可登录的账号："))
        for user in users:
            unit = user.unit.name if user.unit else _("全省")
            self.stdout.write(f"  {user.username:<16} {user.get_role_display()}（{unit}）")
        self.stdout.write(
            _(
                "演示账号的密码都是 %(password)s（若没有改过）；"
                "忘记密码可运行 .venv/bin/python manage.py changepassword 用户名 重设。"
            )
            % {"password": DEMO_PASSWORD}
        )
