"""Block Kit checks for the fake Slack: the block types, fields and limits Slack enforces for what
Vigil posts, plus mrkdwn hygiene (no raw `&`, no `<!channel>`-style broadcasts), so a page that
real Slack would refuse, or that lets user text ping a whole channel, fails the test."""
from __future__ import annotations

import re

TEXT_KEYS = {"type", "text", "emoji", "verbatim"}
BLOCK_KEYS = {
    "section": {"type", "block_id", "text", "fields", "accessory"},
    "context": {"type", "block_id", "elements"},
    "actions": {"type", "block_id", "elements"},
    "divider": {"type", "block_id"},
    "header": {"type", "block_id", "text"},
}
BUTTON_KEYS = {"type", "text", "action_id", "value", "style", "url", "confirm"}
RAW_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
BROADCAST = re.compile(r"<!(channel|here|everyone|subteam)")


def problems(blocks) -> list[str]:
    """Everything wrong with `blocks`, as messages; empty when Slack would take them."""
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return [f"blocks must be a list of 1 to 50 blocks, got {type(blocks).__name__}"]
    found: list[str] = []
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_KEYS:
            found.append(f"{where}: unknown block {block!r:.80}")
            continue
        extra = set(block) - BLOCK_KEYS[block["type"]]
        if extra:
            found.append(f"{where}: unexpected fields {sorted(extra)}")
        if "block_id" in block:
            if block["block_id"] in block_ids:
                found.append(f"{where}: duplicate block_id {block['block_id']!r}")
            block_ids.add(block["block_id"])
        found += _block(where, block)
    return found


def text_problems(where: str, text, *, plain: bool = False, limit: int = 3000) -> list[str]:
    """A text string as Slack takes it: non-empty, within `limit`, escaped when mrkdwn."""
    if not isinstance(text, str) or not text or len(text) > limit:
        return [f"{where}: text must be 1 to {limit} characters"]
    if plain:
        return []
    found = []
    if RAW_AMPERSAND.search(text):
        found.append(f"{where}: unescaped '&' in {text!r:.80}")
    if BROADCAST.search(text):
        found.append(f"{where}: broadcast mention in {text!r:.80}")
    return found


def _block(where: str, block: dict) -> list[str]:
    kind = block["type"]
    if kind == "section":
        return _text_object(f"{where}.text", block.get("text"), limit=3000)
    if kind == "header":
        return _text_object(f"{where}.text", block.get("text"), limit=150, plain_only=True)
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= 10:
            return [f"{where}.elements: 1 to 10 elements"]
        return [p for i, e in enumerate(elements) for p in _text_object(f"{where}.elements[{i}]", e, limit=3000)]
    if kind == "actions":
        return _actions(where, block.get("elements"))
    return []


def _actions(where: str, elements) -> list[str]:
    if not isinstance(elements, list) or not 0 < len(elements) <= 25:
        return [f"{where}.elements: 1 to 25 elements"]
    found, action_ids = [], set()
    for i, button in enumerate(elements):
        at = f"{where}.elements[{i}]"
        if not isinstance(button, dict) or button.get("type") != "button":
            found.append(f"{at}: only buttons are expected")
            continue
        if set(button) - BUTTON_KEYS:
            found.append(f"{at}: unexpected fields {sorted(set(button) - BUTTON_KEYS)}")
        action_id = button.get("action_id")
        if not isinstance(action_id, str) or not 0 < len(action_id) <= 255 or action_id in action_ids:
            found.append(f"{at}: action_id missing, too long or repeated: {action_id!r}")
        action_ids.add(action_id)
        if "value" in button and (not isinstance(button["value"], str) or len(button["value"]) > 2000):
            found.append(f"{at}: value must be a string of at most 2000 characters")
        if button.get("style") not in (None, "primary", "danger"):
            found.append(f"{at}: style {button.get('style')!r}")
        found += _text_object(f"{at}.text", button.get("text"), limit=75, plain_only=True)
    return found


def _text_object(where: str, obj, *, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn") or set(obj) - TEXT_KEYS:
        return [f"{where}: not a text object: {obj!r:.80}"]
    if plain_only and obj["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    return text_problems(where, obj.get("text"), plain=obj["type"] == "plain_text", limit=limit)
