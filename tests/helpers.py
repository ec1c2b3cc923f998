"""Small helpers shared by the HTTP tests."""
import json
from pathlib import Path

# Byte-for-byte copies of ../shared/fixtures, so the tests run from a clone without shared/.
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
