"""Console pages (placeholder until the console shell lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
