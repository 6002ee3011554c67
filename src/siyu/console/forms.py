"""Console forms: validate posted fields with the domain's pydantic schema and turn every problem —
a malformed field or a refused business rule — into a message next to its field, in the operator's
language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from siyu.kit.errors import SiyuError
from siyu.kit.i18n import translate

SchemaT = TypeVar("SchemaT", bound=BaseModel)

#: pydantic error types → catalogue keys; the error's context (min_length …) fills the template.
_MESSAGES = {
    "missing": "console.form.required",
    "string_too_short": "console.form.too_short",
    "string_too_long": "console.form.too_long",
    "string_pattern_mismatch": "console.form.pattern",
    "enum": "console.form.choice",
    "literal_error": "console.form.choice",
    "int_parsing": "console.form.number",
    "int_type": "console.form.number",
}


@dataclass
class FormState:
    """What a form shows when it is drawn again: the values the operator typed and the errors."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    #: field name → message; "" holds an error that belongs to no single field
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def blank_to_none(values: dict[str, str], *names: str) -> dict[str, Any]:
    """Browsers post empty strings for untouched optional fields; the schemas expect None."""
    return {key: (None if key in names and value.strip() == "" else value) for key, value in values.items()}


def validate(schema: type[SchemaT], form: FormState, language: str) -> SchemaT | None:
    """``schema`` built from ``form.values``, or None with the problems recorded in ``form.errors``."""
    try:
        return schema.model_validate(form.values)
    except ValidationError as exc:
        for problem in exc.errors():
            location = [str(part) for part in problem.get("loc", ())]
            name = location[0] if location else ""
            key = _MESSAGES.get(problem["type"], "console.form.invalid")
            context = {k: v for k, v in (problem.get("ctx") or {}).items() if isinstance(v, str | int)}
            if problem["type"] == "string_too_short" and context.get("min_length") == 1:
                key = "console.form.required"  # an empty field is missing, whatever the schema calls it
            form.errors.setdefault(name, translate(key, language, **context))
        return None


def record(error: SiyuError, form: FormState, language: str, *, rename: dict[str, str] | None = None) -> None:
    """Put a refused business rule next to the field it concerns (``rename`` maps a schema field to
    the form field that stands for it)."""
    name = error.field or ""
    if rename and name in rename:
        name = rename[name]
    form.errors[name] = error.message(language)
