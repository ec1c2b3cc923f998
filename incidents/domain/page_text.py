"""What a page says: the SMS an on-call person gets and the Slack message with its buttons.

Pure. SMS is billed and split per segment. Text entirely in the GSM 03.38 alphabet (GSM-7) fits
160 septets in one segment, 153 per segment once split, and each extension-table character
(`^{}\\[~]|€` and form feed) takes two septets. Any other character turns the whole message into
UCS-2: 70 UTF-16 code units, 67 per segment once split, an emoji taking two. So a page turns
typographic punctuation, accents and emoji from user text into GSM-7 when that saves the whole
message from UCS-2, and then shortens only the title so the page needs the fewest segments; the
reply instructions are never cut.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from incidents.domain.enums import Status
from incidents.domain.playbook import REGULATOR_WARNINGS, hours_left

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("\f^{}\\[~]|€")
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

MIN_TITLE = 20  # units; shorter than this a title says too little: take another segment instead
SMS_CUSTOMER_MAX = 24
SLACK_TITLE_MAX, SLACK_NAME_MAX = 400, 80  # keeps every block under Slack's 3,000 characters, escaped

# Look-alikes for characters outside GSM-7 that would force a whole message into UCS-2.
_GSM_LOOKALIKES = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "′": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"',
    "″": '"', "«": '"', "»": '"', "‐": "-", "‑": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": "...", "•": "-", "·": "-", "≥": ">=", "≤": "<=", "≠": "!=", "→": "->", "←": "<-",
    "×": "x", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "œ": "oe", "Œ": "OE",
    "ð": "d", "þ": "th", "Þ": "Th",
})
_DROPPABLE = frozenset({"So", "Sk", "Cf", "Mn", "Me", "Co", "Cs"})  # emoji, modifiers, joiners


def is_gsm(text: str) -> bool:
    """Whether `text` can be sent as GSM-7."""
    return all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)


def sms_units(text: str) -> int:
    """Septets when GSM-7, else UTF-16 code units."""
    if is_gsm(text):
        return sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def sms_segments(text: str) -> int:
    """How many segments `text` is sent as; a two-unit character is never split between two."""
    gsm = is_gsm(text)
    single, part = (GSM_SINGLE, GSM_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if sms_units(text) <= single:
        return 1 if text else 0
    segments, used = 1, 0
    for ch in text:
        size = (2 if ch in GSM_EXTENDED else 1) if gsm else (2 if ord(ch) > 0xFFFF else 1)
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments


# Step markers of the pages the SLA sweep sends (engine/sla_sweep.py): no policy step has them.
SLA_WARNING_STEP = -10  # -10: the first warning, -11: the second, ...
SLA_BREACH_STEP = -20
# ... and of the regulator's clock on a breach incident (services/playbook/regulator.py).
REGULATOR_WARNING_STEP = -30  # -30: the first warning (24 h left), -31: the second (6 h left)
REGULATOR_OVERDUE_STEP = -40
GDPR_LEAD = "GDPR deadline"


def lead(step: int) -> str | None:
    """What a page is when it is not an escalation page, said first so nobody at 3 a.m. takes an
    SLA warning or breach notice, or the regulator's deadline, for a repeated page."""
    if step == SLA_BREACH_STEP:
        return "SLA BREACHED"
    if SLA_BREACH_STEP < step <= SLA_WARNING_STEP:
        return "SLA warning"
    if step == REGULATOR_OVERDUE_STEP:
        return f"{GDPR_LEAD} PASSED"
    if REGULATOR_OVERDUE_STEP < step <= REGULATOR_WARNING_STEP:
        index = REGULATOR_WARNING_STEP - step
        return GDPR_LEAD + (f" in {hours_left(REGULATOR_WARNINGS[index])}" if index < len(REGULATOR_WARNINGS) else "")
    return None


def _response_due_shown(lead: str | None) -> bool:
    """A regulator's page leaves out the response deadline: it is another clock than the one paged about."""
    return not (lead or "").startswith(GDPR_LEAD)


def sms_page(number: int, severity_class: int, title: str, customer: str | None,
             due_at_local_str: str | None, code: str, lead: str | None = None) -> str:
    """E.g. "Vigil #142 C1 acme: Checkout down. Respond by 10:30. Reply 4ka ack, 4kr resolve, 4ke escalate";
    with a lead: "Vigil SLA warning #142 C1 acme: ..."."""
    if not _response_due_shown(lead):
        due_at_local_str = None
    title, customer = _clean(title), _clean(customer or "")
    gsm_title, gsm_customer = _to_gsm(title), _to_gsm(customer)
    if gsm_title is not None and gsm_customer is not None:
        title, customer = gsm_title, gsm_customer
    title = title or "(no title)"
    customer = _sms_shorten(customer, SMS_CUSTOMER_MAX)
    head = "Vigil " + (f"{lead} " if lead else "") + f"#{number} C{severity_class}" + \
        (f" {customer}" if customer else "") + ": "
    due_word = "Was due" if lead == "SLA BREACHED" else "Respond by"
    tail = (f"{due_word} {_clean(due_at_local_str)}. " if due_at_local_str else "") + \
        f"Reply {code}a ack, {code}r resolve, {code}e escalate"
    return _fit_title(head, title, tail)


def sms_bundle(count: int, code_all: str) -> str:
    """The one SMS that stands for `count` pages held back in a storm. `code_all` is the bundle's
    reply code, used like a page's: the reply is `<code_all>a` (code "a" reads "reply aa")."""
    noun = "incident" if count == 1 else "incidents"
    return f"Vigil: {count} more {noun} for you. Reply {code_all}a to acknowledge all"


def _fit_title(head: str, title: str, tail: str) -> str:
    """The page with as much of the title as fits the fewest segments that keep MIN_TITLE of it."""
    def page(kept: str) -> str:
        return f"{head}{kept}{' ' if kept.endswith(('.', '!', '?', '…')) else '. '}{tail}"

    full = page(title)
    shortest = _prefix_length(title, MIN_TITLE)
    target = sms_segments(page(_cut(head, title, tail, shortest)))
    if sms_segments(full) <= target:
        return full
    low, high = shortest, len(title) - 1  # the longest cut that still fits `target` segments
    while low < high:
        middle = (low + high + 1) // 2
        if sms_segments(page(_cut(head, title, tail, middle))) <= target:
            low = middle
        else:
            high = middle - 1
    return page(_cut(head, title, tail, low, at_word=True))


def _cut(head: str, title: str, tail: str, length: int, *, at_word: bool = False) -> str:
    """The first `length` characters of the title and an ellipsis (three dots keep GSM-7)."""
    if length >= len(title):
        return title
    kept = title[:length]
    if at_word and " " in kept[-12:] and title[length] != " ":
        kept = kept[:kept.rindex(" ")]
    kept = kept.rstrip(" ,;:-.")
    return kept + ("..." if is_gsm(head + kept + tail) else "…")


def _prefix_length(text: str, units: int) -> int:
    """How many characters of `text` fit in `units` (an emoji takes two in UCS-2)."""
    length = 0
    while length < len(text) and sms_units(text[: length + 1]) <= units:
        length += 1
    return length


def _sms_shorten(text: str, limit: int) -> str:
    if sms_units(text) <= limit:
        return text
    ellipsis = "..." if is_gsm(text) else "…"
    return text[: _prefix_length(text, limit - sms_units(ellipsis))].rstrip() + ellipsis


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _clean(text: str | None) -> str:
    """One line: NFC, whitespace runs to one space, control characters gone."""
    text = unicodedata.normalize("NFC", text or "")
    text = re.sub(r"\s+", " ", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc").strip()


def _to_gsm(text: str) -> str | None:
    """`text` in GSM-7 by look-alikes, stripped accents and dropped emoji; None when a character
    has no GSM-7 form (Cyrillic, CJK…): then the message stays UCS-2 and keeps the original."""
    out = []
    for ch in text.translate(_GSM_LOOKALIKES):
        if ch in GSM_BASIC or ch in GSM_EXTENDED:
            out.append(ch)
            continue
        bare = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if bare and is_gsm(bare):
            out.append(bare)
        elif unicodedata.category(ch) not in _DROPPABLE:
            return None
    return re.sub(r" {2,}", " ", "".join(out)).strip()


# --- Slack -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stamp:
    """Who did something and when, the time already formatted for the reader."""

    who: str
    at: str


_BUTTONS = {  # action_id -> (label, style); the Slack actions webhook routes on action_id
    "ack": ("Acknowledge", "primary"),
    "resolve": ("Resolve", None),
    "escalate": ("Escalate", "danger"),
}
_ICONS = {Status.TRIGGERED: ":rotating_light:", Status.ACKNOWLEDGED: ":eyes:",
          Status.RESOLVED: ":white_check_mark:"}


def slack_escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as markup (links, mentions, entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_page_blocks(*, incident_id: int, number: int, severity_class: int, title: str,
                      customer: str | None, due: str | None, status: Status | str,
                      acknowledged: Stamp | None = None, resolved: Stamp | None = None,
                      url: str | None = None, lead: str | None = None) -> tuple[str, list[dict]]:
    """(notification text, Block Kit blocks) for a page, and for its chat.update as it changes:
    triggered shows all three buttons, acknowledged who and when (Resolve and Escalate left),
    resolved who and when with no buttons."""
    status = Status(status)
    if not _response_due_shown(lead):
        due = None
    title = slack_escape(_shorten(_clean(title) or "(no title)", SLACK_TITLE_MAX))
    customer = slack_escape(_shorten(_clean(customer), SLACK_NAME_MAX))
    ref = f"<{slack_escape(url)}|#{number}>" if url else f"#{number}"
    about = " · ".join(filter(None, [lead, ref, f"Class {severity_class}", customer]))
    due_word = "Was due" if lead == "SLA BREACHED" else "Respond by"
    notes = _slack_notes(status, due, acknowledged, resolved, bold=True, due_word=due_word)
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{_ICONS[status]} *{about}*\n{title}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": note} for note in notes]},
    ]
    actions = _slack_actions(status)
    if actions:
        blocks.append({"type": "actions", "block_id": "incident_actions",
                       "elements": [_button(action, incident_id) for action in actions]})
    latest = _slack_notes(status, due, acknowledged, resolved, bold=False, due_word=due_word)[0]
    text = "Vigil " + (f"{lead} " if lead else "") + f"#{number} C{severity_class}" + \
        (f" {customer}" if customer else "") + f": {title}"
    return f"{text} ({latest[0].lower()}{latest[1:]})", blocks


def _slack_notes(status: Status, due: str | None, acknowledged: Stamp | None,
                 resolved: Stamp | None, *, bold: bool, due_word: str = "Respond by") -> list[str]:
    """Context lines, the most recent first (the first also ends the notification text)."""
    notes = []
    if status is Status.RESOLVED and resolved:
        notes.append(_stamp("Resolved", resolved, bold))
    if status is not Status.TRIGGERED and acknowledged:
        notes.append(_stamp("Acknowledged", acknowledged, bold))
    if status is Status.TRIGGERED and due:  # an acknowledgement is the response
        notes.append(f"{due_word} {slack_escape(_clean(due))}")
    return notes or [status.value.capitalize()]


def _stamp(verb: str, stamp: Stamp, bold: bool) -> str:
    who = slack_escape(_shorten(_clean(stamp.who), SLACK_NAME_MAX))
    return f"{verb} by {f'*{who}*' if bold else who} at {slack_escape(_clean(stamp.at))}"


def _slack_actions(status: Status) -> tuple[str, ...]:
    if status is Status.TRIGGERED:
        return ("ack", "resolve", "escalate")
    if status is Status.ACKNOWLEDGED:
        return ("resolve", "escalate")
    return ()


def _button(action: str, incident_id: int) -> dict:
    label, style = _BUTTONS[action]
    button = {"type": "button", "action_id": action, "value": str(incident_id),
              "text": {"type": "plain_text", "text": label}}
    if style:
        button["style"] = style
    return button
