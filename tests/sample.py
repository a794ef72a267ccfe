"""The brief's own sample events, exactly as the brief shows them (docs/samples/brief.json)."""

import json
from pathlib import Path

SAMPLE_PATH = Path(__file__).resolve().parents[1] / "docs" / "samples" / "brief.json"

BRIEF_SAMPLE: list[dict[str, str]] = json.loads(SAMPLE_PATH.read_text())
