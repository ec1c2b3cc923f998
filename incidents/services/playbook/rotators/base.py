"""The interface every step executor implements, and what the runner hands it.

A rotator is planned, applied and verified, in that order, by the runner:

- `plan(ctx)` looks before it touches anything: is the target there, can we reach it, what will
  change? It returns plain data (JSON-safe) that the runner keeps in the step's checkpoint under
  "plan". A target that does not exist or credentials that are wrong raise RotationError here.
- `apply(ctx, plan)` makes the change. It must be idempotent: the worker can die at any line and
  the runner calls `apply` again with the same plan. Record progress with `ctx.save(...)` right
  after each side effect (e.g. the id of the key just created), and on a second call use
  `ctx.checkpoint` to skip what is done and clean up what a crash left half-done.
- `verify(ctx, plan)` proves the change: the new credential works and the old one is dead. It
  returns the step's summary: plain words for people, never a secret.

Secrets are generated with `secrets`, written to the secret store (`ctx.secrets`) before they come
into force, and never passed to a log, a summary, the timeline, an exception message or an API
response. Errors from drivers are re-raised as RotationError with a plain message `from None`, so
a driver's message (which may quote a statement) is never shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from sqlalchemy.orm import Session


class RotationError(Exception):
    """A step cannot go on; the message is shown to admins as the step's error, so no secrets."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SecretStore(Protocol):
    """Where new credentials are kept: AWS Secrets Manager, or Vigil's own encrypted table."""

    def put(self, name: str, value: dict[str, str]) -> None: ...

    def get(self, name: str) -> dict[str, str] | None: ...


@dataclass
class Context:
    """What a step executor gets. `session` is the runner's: an executor may write rows in it (the
    runner commits after each executor call; call `save` to commit progress mid-way)."""

    session: Session
    run_id: int
    step_id: int
    mode: str  # live | drill
    config: dict[str, Any]  # the step's entry from breach_playbook (drill targets already swapped in)
    playbook: dict[str, Any]  # the whole breach_playbook section as it was at the run's start
    checkpoint: dict[str, Any]
    actor: str
    now: Callable[[], datetime]
    # repr=False: a context printed or logged must not carry the environment or SECRET_KEY along.
    secrets: SecretStore | None = field(default=None, repr=False)
    environ: dict[str, str] = field(default_factory=dict, repr=False)  # where dsn_env / url_env are looked up
    extensions: dict[str, Any] = field(default_factory=dict, repr=False)  # "providers", "mailer", "secret_key", "public_url"
    _save: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False)

    @property
    def drill(self) -> bool:
        return self.mode == "drill"

    def save(self, **progress: Any) -> None:
        """Merge `progress` into the checkpoint and commit it at once (survives a crash)."""
        self.checkpoint.update(progress)
        if self._save is not None:
            self._save(dict(self.checkpoint))


class Rotator(Protocol):
    kind: str

    def plan(self, ctx: Context) -> dict[str, Any]: ...

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None: ...

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str: ...
