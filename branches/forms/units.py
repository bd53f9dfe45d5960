from django import forms
from django.utils.translation import gettext_lazy as _

from branches.models import OrgUnit
from branches.services.unit_import import NAME_FIELDS
from branches.services.units import UNIT_EDITABLE_FIELDS
from branches.spreadsheets.reading import SpreadsheetError, read_table
from branches.validators import CleanTextFormMixin


class UnitForm(CleanTextFormMixin, forms.ModelForm):
    """The facts of a unit that staff keep, with the version the editor started from."""

    # The same name rule as the hierarchy import (branches.validators.name_problem).
    name_fields = NAME_FIELDS

    # The unit's updated_at when the page was loaded, with microseconds: the service
    # refuses to save over a newer version.
    expected_updated_at = forms.DateTimeField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("页面缺少版本信息，请重新打开编辑页面。"),
            "invalid": _("页面版本信息无效，请重新打开编辑页面。"),
        },
    )

    class Meta:
        model = OrgUnit
        fields = UNIT_EDITABLE_FIELDS
        error_messages = {
            "name": {"required": _("请填写单位名称。")},
            "member_count": {
                "required": _("请填写党员数，没有党员时填 0。"),
                "invalid": _("党员数请填写整数，例如 35。"),
                "min_value": _("党员数不能为负数，请填写 0 或更大的整数。"),
            },
            "household_count": {
                "required": _("请填写户数，没有时填 0。"),
                "invalid": _("户数请填写整数，例如 1200。"),
                "min_value": _("户数不能为负数，请填写 0 或更大的整数。"),
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expected_updated_at"].initial = self.instance.updated_at.isoformat()
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class UnitImportForm(forms.Form):
    """An uploaded hierarchy table; reading it checks its format, size and safety."""

    file = forms.FileField(
        label=_("层级表文件"),
        widget=forms.FileInput(attrs={"class": "form-control", "accept": ".xlsx,.csv"}),
        help_text=_("Excel（.xlsx）或 CSV 文件，第1行为列名，每行一个单位。"),
        error_messages={"required": _("请选择要导入的文件。")},
    )

    def clean(self):
        cleaned = super().clean()
        uploaded = cleaned.get("file")
        if uploaded is not None:
            try:
                cleaned["header"], cleaned["rows"] = read_table(uploaded, filename=uploaded.name)
            except SpreadsheetError as error:
                self.add_error("file", str(error))
        return cleaned
