"""A step executor for the runner's unit tests: it does nothing outside the test, records every
call with the checkpoint it saw, and fails or dies where a test tells it to.

Tests point every kind at it by monkeypatching steps.STEP_KINDS (see the `fake_steps` fixture)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from incidents.services.playbook.rotators.base import Context, RotationError

FAKE = "tests.playbook.fake_steps:FakeStep"


class WorkerDied(BaseException):
    """Stands in for a killed worker: not an Exception, so the runner records nothing."""


@dataclass
class Script:
    """What the fake does per step kind: fail (with a message) or die in a phase, or raise an
    unexpected error whose text must never be shown."""

    fail: dict[str, tuple[str, str]] = field(default_factory=dict)  # kind -> (phase, message)
    die: dict[str, str] = field(default_factory=dict)  # kind -> phase, once
    boom: dict[str, str] = field(default_factory=dict)  # kind -> phase: ValueError with a "secret"
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (kind, phase, checkpoint)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> the config it ran with
    hooks: dict[tuple[str, str], Callable[[Context], None]] = field(default_factory=dict)  # (kind, phase)


SCRIPT = Script()


class FakeStep:
    def plan(self, ctx: Context) -> dict[str, Any]:
        kind = self._enter(ctx, "plan")
        return {"kind": kind, "drill": ctx.drill}

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        kind = self._enter(ctx, "apply")
        if not ctx.checkpoint.get("half"):
            ctx.save(half=True)  # a side effect made and recorded; dying after it must not repeat it
        if SCRIPT.die.get(kind) == "after_save":
            del SCRIPT.die[kind]
            raise WorkerDied()

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        kind = self._enter(ctx, "verify")
        return f"{'drill: would rotate' if ctx.drill else 'rotated'} {kind}"

    def _enter(self, ctx: Context, phase: str) -> str:
        kind = ctx.config["type"]
        SCRIPT.calls.append((kind, phase, dict(ctx.checkpoint)))
        SCRIPT.configs[kind] = dict(ctx.config)
        if (kind, phase) in SCRIPT.hooks:
            SCRIPT.hooks[kind, phase](ctx)
        if SCRIPT.die.get(kind) == phase:
            del SCRIPT.die[kind]
            raise WorkerDied()
        if SCRIPT.boom.get(kind) == phase:
            raise ValueError("password=hunter2 rejected")
        if kind in SCRIPT.fail and SCRIPT.fail[kind][0] == phase:
            raise RotationError(SCRIPT.fail[kind][1])
        return kind
