"""Activities a team held and the hours each volunteer gave (pending until confirmed)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import OrgUnit
from volunteers.models.teams import Team, Volunteer, VolunteerRecordQuerySet

HOURS_MAX = 24
PEOPLE_SERVED_MAX = 100_000


class ActivityQuerySet(VolunteerRecordQuerySet):
    path_lookup = "team__unit__path"


class Activity(models.Model):
    class Kind(models.TextChoices):
        CULTURE = "CULTURE", _("文化娱乐")
        CLINIC = "CLINIC", _("义诊")
        FAMILY_EDUCATION = "FAMILY_EDUCATION", _("家庭教育")
        ENVIRONMENT = "ENVIRONMENT", _("环境整治")
        LEGAL_AID = "LEGAL_AID", _("法律援助")
        RESCUE = "RESCUE", _("应急救援")
        CARE = "CARE", _("关爱慰问")
        POLICY = "POLICY", _("政策宣讲")
        OTHER = "OTHER", _("其他")

    team = models.ForeignKey(
        Team, verbose_name=_("队伍"), related_name="activities", on_delete=models.PROTECT
    )
    title = models.CharField(_("活动名称"), max_length=100)
    kind = models.CharField(_("活动类型"), max_length=20, choices=Kind.choices)
    date = models.DateField(_("日期"))
    start_time = models.TimeField(_("开始时间"))
    end_time = models.TimeField(_("结束时间"))
    place = models.ForeignKey(
        OrgUnit, verbose_name=_("活动地点"), related_name="+", on_delete=models.PROTECT
    )
    people_served = models.PositiveIntegerField(_("服务人数"), default=0)
    description = models.TextField(_("活动内容"), max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿服务活动")
        verbose_name_plural = _("志愿服务活动")
        ordering = ["-date", "-start_time", "-id"]
        constraints = [
            models.CheckConstraint(
                name="activity_ends_after_start",
                condition=models.Q(end_time__gt=models.F("start_time")),
            ),
            models.CheckConstraint(
                name="activity_people_served_bounded",
                condition=models.Q(people_served__lte=PEOPLE_SERVED_MAX),
            ),
        ]
        indexes = [
            # The metrics and the calendar: a team's activities in a date range.
            models.Index(fields=["team", "date"], name="activity_team_date_idx"),
            models.Index(fields=["date"], name="activity_date_idx"),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.title}"


def activity_photo_upload_to(instance, filename):
    activity = instance.activity
    return f"volunteers/{activity.date:%Y/%m}/{activity.pk}/{filename}"


class ActivityPhotoQuerySet(VolunteerRecordQuerySet):
    path_lookup = "activity__team__unit__path"


class ActivityPhoto(models.Model):
    activity = models.ForeignKey(
        Activity, verbose_name=_("活动"), related_name="photos", on_delete=models.CASCADE
    )
    file = models.FileField(_("照片"), upload_to=activity_photo_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = ActivityPhotoQuerySet.as_manager()

    class Meta:
        verbose_name = _("活动照片")
        verbose_name_plural = _("活动照片")

    def __str__(self):
        return self.original_name


class AttendanceQuerySet(VolunteerRecordQuerySet):
    path_lookup = "activity__team__unit__path"

    def confirmed(self):
        return self.filter(status=Attendance.Status.CONFIRMED)

    def pending(self):
        return self.filter(status=Attendance.Status.PENDING)


class Attendance(models.Model):
    """One volunteer's hours at one activity; only confirmed hours count anywhere."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("待确认")
        CONFIRMED = "CONFIRMED", _("已确认")
        REJECTED = "REJECTED", _("未通过")

    activity = models.ForeignKey(
        Activity, verbose_name=_("活动"), related_name="attendances", on_delete=models.CASCADE
    )
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("志愿者"), related_name="attendances", on_delete=models.PROTECT
    )
    hours = models.DecimalField(_("服务时长(小时)"), max_digits=4, decimal_places=1)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    reject_reason = models.CharField(_("未通过原因"), max_length=200, blank=True)

    history = HistoricalRecords()
    objects = AttendanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务时长")
        verbose_name_plural = _("服务时长")
        ordering = ["activity", "volunteer__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "volunteer"], name="attendance_once"),
            models.CheckConstraint(
                name="attendance_hours_bounded",
                condition=models.Q(hours__gt=0, hours__lte=HOURS_MAX),
            ),
            models.CheckConstraint(
                name="attendance_decided_has_time",
                condition=models.Q(status="PENDING") | models.Q(confirmed_at__isnull=False),
            ),
        ]
        indexes = [
            # A volunteer's hours (profile, leaderboard).
            models.Index(fields=["volunteer", "status"], name="attendance_volunteer_idx"),
            # The confirmation queue.
            models.Index(
                fields=["activity"],
                name="attendance_pending_idx",
                condition=models.Q(status="PENDING"),
            ),
        ]

    def __str__(self):
        return f"{self.activity} · {self.volunteer} {self.hours}h"


class YearHoursQuerySet(VolunteerRecordQuerySet):
    path_lookup = "team__unit__path"


class YearHours(models.Model):
    """Confirmed hours per year, team and volunteer: the year leaderboard's rollup, rewritten
    from the attendance rows (`year_hours_refresh`) in the transaction that confirms them;
    never edited by hand. A county's year reads about one row per volunteer instead of every
    attendance row since January."""

    year = models.PositiveSmallIntegerField(_("年度"))
    team = models.ForeignKey(
        Team, verbose_name=_("队伍"), related_name="+", on_delete=models.CASCADE
    )
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("志愿者"), related_name="+", on_delete=models.CASCADE
    )
    hours = models.DecimalField(_("已确认时长(小时)"), max_digits=8, decimal_places=1)

    objects = YearHoursQuerySet.as_manager()

    class Meta:
        verbose_name = _("年度服务时长")
        verbose_name_plural = _("年度服务时长")
        constraints = [
            models.UniqueConstraint(fields=["year", "team", "volunteer"], name="year_hours_once"),
        ]

    def __str__(self):
        return f"{self.year} {self.volunteer_id}@{self.team_id} {self.hours}h"
