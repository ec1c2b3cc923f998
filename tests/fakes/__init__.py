"""Protocol-level fakes: loopback HTTP servers that the real `twilio` and `slack_sdk` clients talk to
(fixtures in tests/fakes/fixtures.py)."""
