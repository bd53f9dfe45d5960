"""The text rules every entry path applies: forms, API serializers, the hierarchy import and
the month sheet all call these functions, so a value refused on one path is refused on all."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext as _
from rest_framework import serializers

# C0 controls and DEL: invisible, they hide what a value really says (a NUL also fails on
# PostgreSQL). Tab and newline are text only where a value may run over several lines.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_TAB_NEWLINE = "\t\n\r"
# Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) make text display in
# an order other than the one stored ("Trojan Source"): a name could read as another one.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_SINGLE_LINE = re.compile(f"[{_CONTROL}{_TAB_NEWLINE}{_BIDI}]")
# A browser sends a textarea's line breaks as CRLF: there, CR counts only as part of one.
_MULTI_LINE = re.compile(f"[{_CONTROL}{_BIDI}]|\r(?!\n)")

# A spreadsheet runs a cell that starts with one of these as a formula. Exports neutralise
# them (spreadsheets/cells.py safe_cell), but names also travel on through copies, pastes and
# other systems reading the API, and no real unit, organisation or person is named "=...".
# The import has to refuse "=" anyway (an .xlsx formula reads as its text), so the one rule
# is: refuse these first characters everywhere a unit's names are entered.
NAME_FORBIDDEN_STARTS = ("=", "+", "-", "@")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as entered text (a sentence saying how to fix it), or None."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if found is None:
        return None
    char = found.group()
    where = {"code": f"U+{ord(char):04X}", "position": found.start() + 1}
    if char in _TAB_NEWLINE and not multiline:
        return (
            _("含有换行符或制表符（第%(position)s个字），此项只能填写一行，请删除后重新填写。")
            % where
        )
    if char >= "\u202a":
        return (
            _(
                "含有改变文字显示方向的控制字符 %(code)s（第%(position)s个字），"
                "它会让文字显示的顺序与实际不同，请删除后重新填写。"
            )
            % where
        )
    return _("含有不可见的控制字符 %(code)s（第%(position)s个字），请删除后重新填写。") % where


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a unit's name (or its organisation's or secretary's), or None."""
    if value.startswith(NAME_FORBIDDEN_STARTS):
        return _("不能以“=”“+”“-”“@”开头：表格软件会把这样的内容当作公式。请删除开头的符号。")
    return None


def _labelled(label, problem: str) -> str:
    return _("“%(field)s”%(problem)s") % {"field": label, "problem": problem}


class TextValidator:
    """A field validator for `text_problem` (and `name_problem` with is_name) naming the field."""

    def __init__(self, label, *, multiline: bool = False, is_name: bool = False):
        self.label, self.multiline, self.is_name = label, multiline, is_name

    def __call__(self, value) -> None:
        if not isinstance(value, str):
            return
        problem = text_problem(value, multiline=self.multiline)
        if problem is None and self.is_name:
            problem = name_problem(value)
        if problem is not None:
            raise ValidationError(_labelled(self.label, problem), code="invalid_text")


class CleanTextFormMixin:
    """Applies the text rule to every CharField of the form when it is cleaned.

    Single-line unless the widget is a textarea or `is_multiline` says so; fields named in
    `name_fields` also follow the name rule.
    """

    name_fields: tuple[str, ...] = ()

    def is_multiline(self, name: str, field) -> bool:
        return isinstance(field.widget, forms.Textarea)

    def full_clean(self):
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) and not any(
                isinstance(v, TextValidator) for v in field.validators
            ):
                # This rule covers NUL too, with a message naming the field.
                field.validators = [
                    v
                    for v in field.validators
                    if not isinstance(v, ProhibitNullCharactersValidator)
                ]
                field.validators.append(
                    TextValidator(
                        field.label or name,
                        multiline=self.is_multiline(name, field),
                        is_name=name in self.name_fields,
                    )
                )
        super().full_clean()


class CleanCharField(serializers.CharField):
    """A serializer CharField following the text rule; `multiline` for notes and reasons."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = text_problem(value, multiline=self.multiline)
        if problem is not None:
            raise serializers.ValidationError(
                _labelled(self.label or self.field_name, problem), code="invalid_text"
            )
        return value
