import copy
import operator
from collections import defaultdict
from functools import reduce
from itertools import pairwise

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.forms.units import UnitForm, UnitImportForm
from branches.models import OrgUnit, jurisdiction_path
from branches.services.assignments import branch_oversight
from branches.services.unit_import import UNIT_COLUMNS, units_import
from branches.services.units import UnitChangedError, unit_update
from branches.spreadsheets.reading import more_errors_message

# Left out of the change history: timestamps change on every save, and the tree
# columns are bookkeeping that says nothing to a reader.
HISTORY_HIDDEN_FIELDS = ["created_at", "updated_at", "path", "depth"]


def get_unit_for_user(user, code: str) -> OrgUnit:
    """The unit with this code if the user may see it; 404 otherwise."""
    try:
        return OrgUnit.objects.visible_to(user).get(code=code)
    except OrgUnit.DoesNotExist:
        raise Http404("no such unit in your jurisdiction") from None


def descendant_counts(units) -> dict[str, list[tuple[str, int]]]:
    """How many units of each level lie below each of `units` (all of one depth).

    One grouped query: every descendant is counted under the first `depth * steplen`
    characters of its path, which is the path of the listed unit it descends from.
    """
    units = list(units)
    if not units:
        return {}
    depth = units[0].depth
    rows = (
        OrgUnit.objects.filter(reduce(operator.or_, (Q(path__startswith=u.path) for u in units)))
        .filter(depth__gt=depth)
        .annotate(prefix=Substr("path", 1, depth * OrgUnit.steplen))
        .values("prefix", "level")
        .annotate(n=Count("id"))
        .order_by("prefix", "level")
    )
    counts = defaultdict(list)
    for row in rows:
        counts[row["prefix"]].append((OrgUnit.Level(row["level"]).label, row["n"]))
    return counts


def _with_counts(units):
    counts = descendant_counts(units)
    return [(unit, counts.get(unit.path, [])) for unit in units]


def breadcrumbs_for(user, unit):
    """(unit, is_link) from the root down; units above the user's jurisdiction are not links."""
    scope = jurisdiction_path(user) or ""
    return [(crumb, crumb.path.startswith(scope)) for crumb in unit.breadcrumbs()]


@login_required
def unit_list(request):
    """The top of the user's jurisdiction: their own unit, or every root for an administrator."""
    unit = request.user.unit
    roots = (
        OrgUnit.objects.visible_to(request.user)
        .filter(depth=unit.depth if unit else 1)
        .order_by("code")
    )
    return render(request, "branches/unit_list.html", {"rows": _with_counts(roots)})


@login_required
def unit_detail(request, code):
    unit = get_unit_for_user(request.user, code)
    children = OrgUnit.objects.get_children(unit).order_by("code")
    page = Paginator(children, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "branches/unit_detail.html",
        {
            "unit": unit,
            "breadcrumbs": breadcrumbs_for(request.user, unit),
            "page": page,
            "rows": _with_counts(page.object_list),
            "this_month": f"{timezone.localdate():%Y-%m}",
            "oversight": branch_oversight(request.user, unit)
            if unit.is_rated and request.user.can_read_reports
            else None,
        },
    )


def _shown(field, value):
    """A field value as a reader knows it: the choice label, or 「（空）」 for nothing."""
    if value in ("", None):
        return _("（空）")
    return dict(field.flatchoices).get(value, value)


def _change_lines(record, previous):
    """What one history record changed, as (field label, old, new)."""
    if previous is None:
        return []
    delta = record.diff_against(previous, excluded_fields=HISTORY_HIDDEN_FIELDS)
    fields = [(OrgUnit._meta.get_field(c.field), c) for c in delta.changes]
    return [(f.verbose_name, _shown(f, c.old), _shown(f, c.new)) for f, c in fields]


@login_required
def unit_history(request, code):
    unit = get_unit_for_user(request.user, code)
    records = unit.history.select_related("history_user").order_by("-history_date", "-history_id")
    page = Paginator(records, 20).get_page(request.GET.get("page"))
    first, last = page.start_index(), page.end_index()
    # One record more than the page: the page's last record is diffed against it.
    window = list(records[first - 1 : last + 1]) if first else []
    entries = [
        {"record": record, "changes": _change_lines(record, previous)}
        for record, previous in list(pairwise([*window, None]))[: last - first + 1]
    ]
    return render(
        request,
        "branches/unit_history.html",
        {
            "unit": unit,
            "breadcrumbs": breadcrumbs_for(request.user, unit),
            "page": page,
            "entries": entries,
        },
    )


def _ancestor_paths(path: str) -> list[str]:
    step = OrgUnit.steplen
    return [path[:end] for end in range(step, len(path), step)]


@login_required
def unit_search(request):
    query = request.GET.get("q", "").strip()[:100]
    page = None
    results = []
    if query:
        matches = (
            OrgUnit.objects.visible_to(request.user)
            .filter(Q(name__icontains=query) | Q(code__startswith=query))
            .order_by("level", "code")
        )
        page = Paginator(matches, 50).get_page(request.GET.get("page"))
        # One query for the parent chains of the whole page, read from the result paths.
        wanted = {p for unit in page.object_list for p in _ancestor_paths(unit.path)}
        ancestors = {a.path: a for a in OrgUnit.objects.filter(path__in=wanted)} if wanted else {}
        scope = jurisdiction_path(request.user) or ""
        results = [
            (
                unit,
                [
                    (ancestors[p], p.startswith(scope))
                    for p in _ancestor_paths(unit.path)
                    if p in ancestors
                ],
            )
            for unit in page.object_list
        ]
    return render(
        request,
        "branches/unit_search.html",
        {"query": query, "page": page, "results": results},
    )


@login_required
def unit_edit(request, code):
    unit = get_unit_for_user(request.user, code)
    if not request.user.can_edit_units:
        raise PermissionDenied
    # The form works on a copy so that the page heading keeps the saved name on errors.
    form = UnitForm(request.POST if request.method == "POST" else None, instance=copy.copy(unit))
    if form.is_bound and form.is_valid():
        try:
            unit = unit_update(
                unit=unit,
                user=request.user,
                data=form.cleaned_data,
                expected_updated_at=form.cleaned_data["expected_updated_at"],
            )
        except UnitChangedError as error:
            messages.error(request, error.message)
            unit.refresh_from_db()
            form = UnitForm(instance=copy.copy(unit))
        else:
            messages.success(request, _("已保存“%(name)s”的修改。") % {"name": unit.name})
            return redirect("branches:unit_detail", code=unit.code)
    return render(
        request,
        "branches/unit_edit.html",
        {"unit": unit, "breadcrumbs": breadcrumbs_for(request.user, unit), "form": form},
    )


# An import with more errors than this shows the first ones; fixing them usually fixes the rest.
IMPORT_ERRORS_SHOWN = 500
# The downloadable template: a township and a community under it (parents may be in the file).
UNIT_IMPORT_SAMPLE_ROWS = (
    "410102003,示例街道,乡镇(街道),410102,,党工委,示例街道党工委,李四,0,0\r\n"
    "410102003001,示例社区,村(社区),410102003,城市社区,党委,示例社区党委,张三,35,1200\r\n"
)


@login_required
def unit_import(request):
    if not request.user.can_import_units:
        raise PermissionDenied
    result = None
    if request.method == "POST":
        form = UnitImportForm(request.POST, request.FILES)
        if form.is_valid():
            result = units_import(
                header=form.cleaned_data["header"],
                rows=form.cleaned_data["rows"],
                user=request.user,
            )
            if result.ok:
                messages.success(
                    request,
                    _(
                        "导入完成：新建 %(created)s 个单位，更新 %(updated)s 个，"
                        "%(unchanged)s 个没有变化。"
                    )
                    % {
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                    },
                )
                return redirect("branches:unit_import")
    else:
        form = UnitImportForm()
    return render(
        request,
        "branches/unit_import.html",
        {
            "form": form,
            "result": result,
            "errors_shown": result.errors[:IMPORT_ERRORS_SHOWN] if result else [],
            "more_errors": more_errors_message(),
            "columns": UNIT_COLUMNS,
        },
    )


@login_required
def unit_import_template(request):
    if not request.user.can_import_units:
        raise PermissionDenied
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="unit_import_template.csv"'
    # The byte order mark makes Excel read the file as UTF-8 instead of the system's GBK.
    response.write("\ufeff")
    response.write(",".join(column.label for column in UNIT_COLUMNS) + "\r\n")
    response.write(UNIT_IMPORT_SAMPLE_ROWS)
    return response
