"""The dispute ledger (矛盾纠纷台账): cases, their parties, timeline, attachments, mediation
sessions and return visits, and the mediation teams that handle them.

A case belongs to the unit where it arose; `branch` and `township` are that unit's ancestors
at the village and township levels, stored so that numbering and the metrics group without
walking the tree. The handling unit moves up one level per 上交. A grid and a grid event
will join as two nullable FKs (one migration) once the grids app is merged.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit, UnitScopedQuerySet, jurisdiction_path

L = OrgUnit.Level


class DisputeQuerySet(models.QuerySet):
    """Cases and their records, scoped by the live path of the unit where the case arose; a
    mediator also sees the cases assigned to them or to a team they belong to."""

    # How a row reaches its case ("" for the case itself).
    case_prefix = ""

    def visible_to(self, user):
        path = jurisdiction_path(user)
        if path is None or not getattr(user, "can_read_disputes", False):
            return self.none()
        if not path:
            return self
        prefix = self.case_prefix
        # The user's teams, read once: most users are in none, and a plain IN list keeps the
        # ledger's count a single scan.
        teams = list(
            MediationTeam.members.through.objects.filter(user_id=user.pk).values_list(
                "mediationteam_id", flat=True
            )
        )
        condition = Q(**{f"{prefix}unit__path__startswith": path}) | Q(
            **{f"{prefix}mediator_id": user.pk}
        )
        if teams:
            condition |= Q(**{f"{prefix}team_id__in": teams})
        return self.filter(condition)

    def under(self, unit):
        if unit.depth == 1:
            return self
        return self.filter(**{f"{self.case_prefix}unit__path__startswith": unit.path})


class TeamQuerySet(UnitScopedQuerySet):
    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_disputes", False)


class DisputeCaseQuerySet(DisputeQuerySet):
    def open(self):
        return self.filter(status__in=DisputeCase.OPEN_STATUSES)

    def overdue_on(self, today):
        """Open cases past their due date on `today` (whether or not the job has marked them)."""
        return self.open().filter(due_on__lt=today)

    def for_user_as_mediator(self, user):
        in_team = MediationTeam.members.through.objects.filter(
            mediationteam_id=OuterRef("team_id"), user_id=user.pk
        )
        return self.filter(Q(mediator_id=user.pk) | Exists(in_team))


class MediationTeam(models.Model):
    """A mediation body of a unit: 人民调解委员会, 调解队 or 妇女调解队, with its members."""

    class Kind(models.TextChoices):
        COMMITTEE = "COMMITTEE", _("调解委员会")
        TEAM = "TEAM", _("调解队")
        WOMEN = "WOMEN", _("妇调队")

    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("所属单位"), related_name="mediation_teams",
        on_delete=models.CASCADE,
    )  # fmt: skip
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("成员(用户)"), related_name="mediation_teams",
        blank=True,
    )  # fmt: skip
    # Members without an account (老党员, 乡贤): one name per line.
    member_names = models.TextField(_("其他成员"), max_length=2000, blank=True)
    is_active = models.BooleanField(_("在用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[members])
    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("调解组织")
        verbose_name_plural = _("调解组织")
        ordering = ["unit__path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="mediationteam_unit_name_uniq"),
        ]

    def __str__(self):
        return f"{self.name}（{self.get_kind_display()}）"

    @property
    def member_name_list(self) -> list[str]:
        return [n.strip() for n in self.member_names.splitlines() if n.strip()]


class CaseCounter(models.Model):
    """The last case number handed out per township and year: locked with SELECT ... FOR
    UPDATE while a case is created, so numbers are unique and never reused."""

    township = models.ForeignKey(
        OrgUnit, verbose_name=_("乡镇(街道)"), related_name="+", on_delete=models.CASCADE
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    last_number = models.PositiveIntegerField(_("已用序号"), default=0)

    class Meta:
        verbose_name = _("案件编号计数")
        verbose_name_plural = _("案件编号计数")
        constraints = [
            models.UniqueConstraint(fields=["township", "year"], name="casecounter_uniq"),
        ]

    def __str__(self):
        return f"{self.township_id} {self.year}: {self.last_number}"


class DisputeCase(models.Model):
    """One dispute (矛盾纠纷) from receipt to closing and return visit."""

    class Category(models.TextChoices):
        NEIGHBOUR = "NEIGHBOUR", _("邻里纠纷")
        FAMILY = "FAMILY", _("家庭婚恋")
        PROPERTY = "PROPERTY", _("物业纠纷")
        LABOUR = "LABOUR", _("劳资/农民工工资")
        LAND = "LAND", _("土地纠纷")
        OTHER = "OTHER", _("其他")

    class Source(models.TextChoices):
        GRID = "GRID", _("网格排查")
        VISIT = "VISIT", _("群众来访")
        HOTLINE = "HOTLINE", _("热线")
        JOINT_MEETING = "JOINT_MEETING", _("联席会线索")
        ASSIGNED = "ASSIGNED", _("上级交办")
        OTHER = "OTHER", _("其他")

    class Risk(models.TextChoices):
        LOW = "LOW", _("一般")
        MEDIUM = "MEDIUM", _("较大")
        HIGH = "HIGH", _("重大")

    class Level(models.IntegerChoices):
        """The handling level; the values are the OrgUnit levels (楼栋/小区 is the compound)."""

        COMPOUND = L.COMPOUND, _("楼栋/小区")
        VILLAGE = L.VILLAGE, _("村/社区")
        TOWNSHIP = L.TOWNSHIP, _("乡镇/街道")
        COUNTY = L.COUNTY, _("县")

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", _("已受理")
        MEDIATING = "MEDIATING", _("调解中")
        SUCCEEDED = "SUCCEEDED", _("调解成功")
        FAILED = "FAILED", _("调解未成功")
        TRANSFERRED = "TRANSFERRED", _("已转办")
        CLOSED = "CLOSED", _("已结案")
        VISITED = "VISITED", _("已回访")

    class Outcome(models.TextChoices):
        WRITTEN = "WRITTEN", _("达成书面协议")
        ORAL = "ORAL", _("达成口头协议")
        JUDICIAL = "JUDICIAL", _("司法确认")
        LITIGATION = "LITIGATION", _("引导诉讼")
        ARBITRATION = "ARBITRATION", _("引导仲裁")
        DEPARTMENT = "DEPARTMENT", _("转办部门办结")
        WITHDRAWN = "WITHDRAWN", _("当事人撤回")

    OPEN_STATUSES = (Status.RECEIVED, Status.MEDIATING, Status.FAILED, Status.TRANSFERRED)
    # Outcomes that count as 化解 (resolved); the others close the case unresolved.
    RESOLVED_OUTCOMES = (Outcome.WRITTEN, Outcome.ORAL, Outcome.JUDICIAL, Outcome.DEPARTMENT)

    number = models.CharField(_("案件编号"), max_length=40, unique=True)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("发生地"), related_name="dispute_cases", on_delete=models.PROTECT
    )
    # The rated branch (village level) and the township the unit belongs to.
    branch = models.ForeignKey(
        OrgUnit, verbose_name=_("所属村(社区)"), related_name="+", on_delete=models.PROTECT,
        null=True, blank=True,
    )  # fmt: skip
    township = models.ForeignKey(
        OrgUnit, verbose_name=_("所属乡镇(街道)"), related_name="+", on_delete=models.PROTECT
    )
    # Where in the grid system it arose, when known: the grid, and the reported grid event it
    # was turned from (one case per event).
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("网格"), related_name="dispute_cases",
        on_delete=models.PROTECT, null=True, blank=True,
    )  # fmt: skip
    grid_event = models.OneToOneField(
        "grids.GridEvent", verbose_name=_("来源网格事件"), related_name="dispute_case",
        on_delete=models.PROTECT, null=True, blank=True,
    )  # fmt: skip
    category = models.CharField(_("纠纷类型"), max_length=12, choices=Category.choices)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    summary = models.TextField(_("纠纷概要"), max_length=2000)
    received_on = models.DateField(_("受理日期"))
    risk = models.CharField(_("风险等级"), max_length=8, choices=Risk.choices, default=Risk.LOW)
    handling_level = models.PositiveSmallIntegerField(_("调处层级"), choices=Level.choices)
    # The highest level that has handled the case (smallest number): 矛盾不上交 reads it.
    top_level = models.PositiveSmallIntegerField(_("最高调处层级"), choices=Level.choices)
    handling_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("调处单位"), related_name="+", on_delete=models.PROTECT
    )
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("调解员"), related_name="dispute_cases",
        on_delete=models.SET_NULL, null=True, blank=True,
    )  # fmt: skip
    team = models.ForeignKey(
        MediationTeam, verbose_name=_("调解组织"), related_name="cases",
        on_delete=models.SET_NULL, null=True, blank=True,
    )  # fmt: skip
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    outcome = models.CharField(_("结案方式"), max_length=12, choices=Outcome.choices, blank=True)
    is_resolved = models.BooleanField(_("已化解"), default=False)
    transfer_department = models.CharField(_("转办部门"), max_length=100, blank=True)
    due_on = models.DateField(_("办理期限"))
    is_overdue = models.BooleanField(_("已逾期"), default=False)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), related_name="+",
        on_delete=models.SET_NULL, null=True, blank=True,
    )  # fmt: skip
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本号"), default=1)

    history = HistoricalRecords()
    objects = DisputeCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("矛盾纠纷案件")
        verbose_name_plural = _("矛盾纠纷台账")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(
                name="disputecase_level_valid",
                condition=Q(handling_level__gte=3, handling_level__lte=6, top_level__gte=3),
            ),
            # The top level reached is never below the level handling the case now.
            models.CheckConstraint(
                name="disputecase_top_level_at_or_above",
                condition=Q(top_level__lte=models.F("handling_level")),
            ),
        ]
        indexes = [
            # The metrics: a branch's cases received in a window.
            models.Index(fields=["branch", "received_on"], name="disputecase_branch_idx"),
            # The monthly screening table: a township's cases of a month.
            models.Index(fields=["township", "received_on"], name="disputecase_township_idx"),
            # The overdue job and the ledger's overdue filter: open cases by due date.
            models.Index(fields=["status", "due_on"], name="disputecase_status_due_idx"),
            # The ledger's default order.
            models.Index(fields=["-received_on", "-id"], name="disputecase_ledger_idx"),
        ]

    def __str__(self):
        return f"{self.number} {self.get_category_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def days_overdue(self, today) -> int:
        """Whole days past the due date on `today` (0 when closed or not yet due)."""
        if not self.is_open or today <= self.due_on:
            return 0
        return (today - self.due_on).days


class CaseRecordQuerySet(DisputeQuerySet):
    case_prefix = "case__"


class Party(models.Model):
    """A party to a case: name, role and phone only (no ID numbers are kept)."""

    class Role(models.TextChoices):
        APPLICANT = "APPLICANT", _("申请人")
        RESPONDENT = "RESPONDENT", _("被申请人")
        OTHER = "OTHER", _("其他当事人")

    case = models.ForeignKey(
        DisputeCase, verbose_name=_("案件"), related_name="parties", on_delete=models.CASCADE
    )
    name = models.CharField(_("姓名/名称"), max_length=100)
    role = models.CharField(_("身份"), max_length=12, choices=Role.choices)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)

    history = HistoricalRecords()
    objects = CaseRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["case", "id"]

    def __str__(self):
        return f"{self.get_role_display()} {self.name}"


class CaseStep(models.Model):
    """One timeline entry: who did what and when, status and level from → to, note."""

    class Action(models.TextChoices):
        RECEIVE = "RECEIVE", _("受理")
        ASSIGN = "ASSIGN", _("指派调解")
        START = "START", _("开始调解")
        SESSION = "SESSION", _("调解记录")
        SUCCEED = "SUCCEED", _("调解成功")
        FAIL = "FAIL", _("调解未成功")
        TRANSFER = "TRANSFER", _("转办")
        ESCALATE = "ESCALATE", _("上交")
        CLOSE = "CLOSE", _("结案")
        VISIT = "VISIT", _("回访")
        REOPEN = "REOPEN", _("重新办理")
        OVERDUE = "OVERDUE", _("逾期")
        ATTACH = "ATTACH", _("上传附件")

    case = models.ForeignKey(
        DisputeCase, verbose_name=_("案件"), related_name="steps", on_delete=models.CASCADE
    )
    action = models.CharField(_("操作"), max_length=10, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=12, choices=DisputeCase.Status.choices, blank=True
    )
    to_status = models.CharField(
        _("新状态"), max_length=12, choices=DisputeCase.Status.choices, blank=True
    )
    from_level = models.PositiveSmallIntegerField(
        _("原层级"), choices=DisputeCase.Level.choices, null=True, blank=True
    )
    to_level = models.PositiveSmallIntegerField(
        _("新层级"), choices=DisputeCase.Level.choices, null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), related_name="+",
        on_delete=models.SET_NULL, null=True, blank=True,
    )  # fmt: skip
    # The actor's name at the time ("" for the system: the overdue job).
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    note = models.TextField(_("说明"), max_length=2000, blank=True)
    occurred_at = models.DateTimeField(_("时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = CaseRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("办理过程")
        verbose_name_plural = _("办理过程")
        ordering = ["occurred_at", "id"]
        indexes = [
            # A case's timeline in order.
            models.Index(fields=["case", "occurred_at"], name="casestep_case_time_idx"),
        ]

    def __str__(self):
        return f"{self.case_id} {self.get_action_display()}"


def attachment_upload_to(instance, filename):
    case = instance.case
    return f"disputes/{case.received_on:%Y/%m}/{case.number}/{filename}"


class CaseAttachment(models.Model):
    """A file attached to a timeline step (content-checked like a report's evidence)."""

    case = models.ForeignKey(
        DisputeCase, verbose_name=_("案件"), related_name="attachments", on_delete=models.CASCADE
    )
    step = models.ForeignKey(
        CaseStep, verbose_name=_("办理过程"), related_name="attachments", on_delete=models.CASCADE
    )
    file = models.FileField(_("文件"), upload_to=attachment_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), related_name="+",
        on_delete=models.SET_NULL, null=True, blank=True,
    )  # fmt: skip
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = CaseRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("案件附件")
        verbose_name_plural = _("案件附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class MediationSession(models.Model):
    """One mediation session of a case: when, where, who, the record and its result."""

    class Result(models.TextChoices):
        AGREED = "AGREED", _("达成协议")
        CONTINUE = "CONTINUE", _("继续调解")
        FAILED = "FAILED", _("未达成协议")

    case = models.ForeignKey(
        DisputeCase, verbose_name=_("案件"), related_name="sessions", on_delete=models.CASCADE
    )
    held_on = models.DateField(_("调解日期"))
    place = models.CharField(_("地点"), max_length=100)
    participants = models.TextField(_("参加人员"), max_length=1000)
    record = models.TextField(_("调解记录"), max_length=4000)
    result = models.CharField(_("结果"), max_length=10, choices=Result.choices)
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("主持调解"), related_name="+",
        on_delete=models.SET_NULL, null=True, blank=True,
    )  # fmt: skip
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = CaseRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("调解记录")
        verbose_name_plural = _("调解记录")
        ordering = ["held_on", "id"]

    def __str__(self):
        return f"{self.case_id} {self.held_on}"


class ReturnVisit(models.Model):
    """A return visit after closing, with the parties' satisfaction."""

    class Satisfaction(models.TextChoices):
        SATISFIED = "SATISFIED", _("满意")
        BASIC = "BASIC", _("基本满意")
        UNSATISFIED = "UNSATISFIED", _("不满意")

    SATISFIED_VALUES = (Satisfaction.SATISFIED, Satisfaction.BASIC)

    case = models.ForeignKey(
        DisputeCase, verbose_name=_("案件"), related_name="visits", on_delete=models.CASCADE
    )
    visited_on = models.DateField(_("回访日期"))
    satisfaction = models.CharField(_("满意度"), max_length=12, choices=Satisfaction.choices)
    note = models.TextField(_("回访情况"), max_length=2000, blank=True)
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("回访人"), related_name="+",
        on_delete=models.SET_NULL, null=True, blank=True,
    )  # fmt: skip
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    history = HistoricalRecords()
    objects = CaseRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["visited_on", "id"]
        indexes = [
            # The satisfaction metric: visits of a window.
            models.Index(fields=["visited_on"], name="returnvisit_date_idx"),
        ]

    def __str__(self):
        return f"{self.case_id} {self.get_satisfaction_display()}"
