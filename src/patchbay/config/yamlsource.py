"""Read YAML while remembering where every value came from (file and line).

``load_yaml`` returns the plain data and a map from each value's path (a tuple of keys and list
indices) to its ``(file, line)``, so that a validation error deep inside a component's options can
still say "patchbay.yaml:42". Duplicate keys are errors, not silently last-one-wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from patchbay.errors import ConfigError, ConfigIssue

Path_ = tuple[str | int, ...]
Positions = dict[Path_, tuple[str, int]]


def _walk(node: yaml.Node, path: Path_, file: str, positions: Positions, issues: list[ConfigIssue]) -> None:
    positions[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                issues.append(
                    ConfigIssue(
                        file=file,
                        line=line,
                        field=".".join(str(p) for p in (*path, key)),
                        message=f"duplicate key (first defined on line {seen[key]})",
                        allowed="each key once per mapping",
                    )
                )
            seen[key] = line
            _walk(value_node, (*path, key), file, positions, issues)
            positions[(*path, key)] = (file, line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), file, positions, issues)


def load_yaml(file: Path, *, display_name: str | None = None) -> tuple[Any, Positions]:
    """Parse one YAML file into data plus positions; syntax errors become a ``ConfigError``."""
    name = display_name or str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {name}",
            issues=[
                ConfigIssue(
                    file=name,
                    line=None,
                    field="",
                    message="file does not exist",
                    allowed="run 'patchbay init DIR' to create a project",
                )
            ],
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {name}: {exc}") from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"invalid YAML in {name}",
            issues=[
                ConfigIssue(
                    file=name,
                    line=line,
                    field="",
                    message=f"YAML syntax error: {problem}",
                    allowed="valid YAML; check indentation and quoting near this line",
                )
            ],
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {name}: {exc}") from None
    positions: Positions = {}
    issues: list[ConfigIssue] = []
    if node is not None:
        _walk(node, (), name, positions, issues)
    if issues:
        raise ConfigError(f"invalid config in {name}", issues=issues)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"invalid config in {name}",
            issues=[
                ConfigIssue(
                    file=name,
                    line=1,
                    field="",
                    message="the top level must be a mapping",
                    allowed="'key: value' pairs such as 'project:', 'providers:', 'integrations:'",
                )
            ],
        )
    return data, positions


def deep_merge(base: Any, overlay: Any, base_pos: Positions, overlay_pos: Positions, path: Path_ = ()) -> Any:
    """Merge ``overlay`` into ``base``: mappings merge key by key, anything else is replaced.

    A component whose ``type`` changes (``{type: file}`` -> ``{type: jira}``) is replaced whole, since
    the old type's options would be unknown keys for the new one.

    ``base_pos`` is updated in place so that each merged value keeps the position it came from.
    """
    same_kind = not (
        isinstance(base, dict)
        and isinstance(overlay, dict)
        and "type" in base
        and "type" in overlay
        and base["type"] != overlay["type"]
    )
    if isinstance(base, dict) and isinstance(overlay, dict) and same_kind:
        merged = dict(base)
        for key, value in overlay.items():
            child = (*path, key)
            if key in merged:
                merged[key] = deep_merge(merged[key], value, base_pos, overlay_pos, child)
            else:
                merged[key] = value
                _copy_positions(overlay_pos, base_pos, child)
        if path in overlay_pos and path not in base_pos:
            base_pos[path] = overlay_pos[path]
        return merged
    for key in [k for k in base_pos if k[: len(path)] == path and len(k) > len(path)]:
        del base_pos[key]
    _copy_positions(overlay_pos, base_pos, path)
    return overlay


def _copy_positions(src: Positions, dst: Positions, prefix: Path_) -> None:
    for key, value in src.items():
        if key[: len(prefix)] == prefix:
            dst[key] = value
