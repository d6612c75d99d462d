"""Config problems with a place: the file and line a value came from, its field path, what is allowed."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from patchbay.config.yamlsource import Path_, Positions
from patchbay.errors import ConfigIssue


def located(positions: Positions, path: Path_, message: str, allowed: str | None = None) -> ConfigIssue:
    """A ``ConfigIssue`` for the value at ``path``, at the file and line it came from."""
    file, line = line_of(positions, path)
    return ConfigIssue(file=file, line=line, field=dotted(path), message=message, allowed=allowed)


def line_of(positions: Positions, path: Path_) -> tuple[str | None, int | None]:
    probe = path
    while True:
        if probe in positions:
            return positions[probe]
        if not probe:
            return None, None
        probe = probe[:-1]


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_issues(
    exc: ValidationError, prefix: Path_, positions: Positions, model: type[BaseModel] | None = None
) -> list[ConfigIssue]:
    """Turn a pydantic ``ValidationError`` into located, fixable ``ConfigIssue`` objects."""
    found: list[ConfigIssue] = []
    for err in exc.errors(include_url=False):
        loc: Path_ = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
        file, line = line_of(positions, loc)
        kind = err["type"]
        allowed: str | None = None
        message = err["msg"]
        if kind == "extra_forbidden":
            message = "unknown key"
            fields = _fields_at(model, tuple(err["loc"][:-1])) if model is not None else None
            allowed = ", ".join(sorted(fields)) if fields else None
        elif kind == "missing":
            message = "required field is missing"
            file, line = line_of(positions, loc[:-1])
        elif kind == "literal_error":
            allowed = str(err.get("ctx", {}).get("expected", "")) or None
        elif ("input" in err and kind.endswith("_type")) or kind.endswith("_parsing"):
            message = f"{err['msg']} (got {type(err.get('input')).__name__})"
        found.append(ConfigIssue(file=file, line=line, field=dotted(loc), message=message, allowed=allowed))
    return found


def _fields_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str] | None:
    current: Any = model
    for part in loc:
        if current is None:
            return None
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = _unwrap(info.annotation)
        else:
            current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _unwrap(annotation: Any) -> Any:
    """dict[str, X] / list[X] / X | None -> X (the model class one level down), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(get_args(annotation)):
        inner = _unwrap(arg)
        if inner is not None:
            return inner
    return None
