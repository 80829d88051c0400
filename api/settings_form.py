"""The channel page's settings form, derived from the settings' specs (tubeflow/channel_settings.py).

The template renders one input per *kind* (select, checkbox, number, slot picker, tags, checkbox
group), never per setting, so a setting declared with its :class:`~tubeflow.channel_settings.Spec`
appears on the page with its label, help and limits and nothing here or in the template changes.
What an empty value means is said in words ("default: the niche's (en)"), never ``None`` or ``[]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tubeflow import channel_settings
from tubeflow.channel_settings import DAYS, ChannelSettings, Spec
from tubeflow.settings import Settings

DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SlotView:
    days: tuple[str, ...]  # e.g. ("mon", "wed")
    time: str  # "17:00"


@dataclass(frozen=True)
class FieldView:
    """One setting as the form shows it: what the template needs, nothing it must work out."""

    name: str
    label: str
    help: str
    kind: str
    allowed: str
    value: Any  # what the input starts with, JSON-ready (the script compares against it)
    shown: str  # the value in words, for a viewer (no input) and for a default
    default_text: str  # "" or e.g. "default: the niche's (en)"
    choices: tuple[tuple[str, str], ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    unit: str = ""
    nullable: bool = False
    suggestions: tuple[str, ...] = ()
    slots: tuple[SlotView, ...] = ()

    @property
    def input_id(self) -> str:
        return f"set-{self.name}"


@dataclass(frozen=True)
class FieldGroup:
    title: str
    fields: list[FieldView] = field(default_factory=list)


def _words(value: Any, spec: Spec) -> str:
    if value is None or value == "" or value == []:
        return ""
    if spec.kind == "flag":
        return "yes" if value else "no"
    if spec.kind in ("choice", "subset"):
        names = dict(spec.choices)
        items = value if isinstance(value, list) else [value]
        return ", ".join(names.get(str(v), str(v)) for v in items)
    if spec.kind in ("number", "whole"):
        return f"{value:g} {spec.unit}".strip()
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) if spec.kind == "slots" else ", ".join(str(v) for v in value)
    return str(value)


def _default_text(spec: Spec, niche_value: Any, env_value: Any) -> str:
    """What decides when nothing is set, in words: the niche's value, an environment default."""
    if spec.env_default and env_value is not None:
        shown = _words(env_value, spec) or "none"
        return f"default: {shown} (TUBEFLOW_{spec.env_default.upper()})"
    if spec.niche_default:
        shown = _words(niche_value, spec) if niche_value not in (None, "", []) else ""
        if spec.kind == "subset" and niche_value == []:
            shown = "none"
        return f"default: {spec.empty}" + (f" ({shown})" if shown else "")
    if spec.empty:
        return f"default: {spec.empty}"
    return ""


def settings_form(cs: ChannelSettings, settings: Settings | None = None, niche: Any = None) -> list[FieldGroup]:
    """The form's sections in declaration order, each field with its current value and its default in words."""
    groups: dict[str, FieldGroup] = {}
    values = cs.to_dict()
    for name, spec in channel_settings.SPECS.items():
        value = values[name]
        niche_value = getattr(niche, spec.niche_default, None) if niche is not None and spec.niche_default else None
        env_value = getattr(settings, spec.env_default, None) if settings is not None and spec.env_default else None
        slots: tuple[SlotView, ...] = ()
        if spec.kind == "slots":
            slots = tuple(SlotView(tuple(DAYS[d] for d in s.days), f"{s.hour:02d}:{s.minute:02d}") for s in cs.slots)
        view = FieldView(
            name=name,
            label=spec.label,
            help=spec.help,
            kind=spec.kind,
            allowed=spec.allowed_text(),
            value=value,
            shown=_words(value, spec),
            default_text=_default_text(spec, niche_value, env_value),
            choices=tuple(zip(DAYS, DAY_LABELS, strict=True)) if spec.kind == "slots" else spec.choices,
            low=spec.low,
            high=spec.high,
            step=spec.step,
            unit=spec.unit,
            nullable=spec.nullable,
            suggestions=tuple(spec.suggestions()) if spec.suggestions else (),
            slots=slots,
        )
        groups.setdefault(spec.group, FieldGroup(spec.group)).fields.append(view)
    return list(groups.values())
