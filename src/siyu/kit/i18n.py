"""Message catalogue: zh-CN (default) and en.

Strings live in JSON files under ``kit/catalogue/<language>/*.json``; every file of a language is
merged, so each domain keeps its own file (``core.json``, ``wecom.json`` …). Keys are dotted names;
values are ``str.format`` templates.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
_CATALOGUE_DIR = Path(__file__).parent / "catalogue"


@lru_cache
def catalogue(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    folder = _CATALOGUE_DIR / language
    for path in sorted(folder.glob("*.json")):
        for key, value in json.loads(path.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"catalogue key {key!r} defined twice for {language} ({path.name})")
            merged[key] = value
    return merged


def normalise_language(language: str | None) -> str:
    if not language:
        return DEFAULT_LANGUAGE
    language = language.strip()
    if language.lower().startswith("en"):
        return "en"
    if language.lower().startswith("zh"):
        return "zh-CN"
    return DEFAULT_LANGUAGE


def pick_language(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (first match wins)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def translate(key: str, language: str | None = None, **params: object) -> str:
    """The message for ``key`` in ``language``, falling back to en, then to the key itself."""
    language = normalise_language(language)
    template = catalogue(language).get(key) or catalogue("en").get(key) or key
    if params:
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            return template
    return template
