"""Tools of this area (to be declared)."""

from __future__ import annotations
