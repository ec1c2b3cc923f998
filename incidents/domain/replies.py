"""The SMS reply grammar, case- and space-insensitive:

  <code>a  or  ack <code>        acknowledge      (bare "a": the latest page to this number)
  <code>r  or  resolve <code>    resolve          (bare "r")
  <code>e  or  escalate <code>   escalate         (bare "e")
  aa                             acknowledge every incident paged to this number
  help                           how to reply
  STOP … / START …               Twilio's opt-out keywords
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Verb = Literal["ack", "resolve", "escalate", "ack_all", "help", "stop", "start", "unknown"]
LETTERS = {"a": "ack", "r": "resolve", "e": "escalate"}
WORDS = {"ack": "ack", "acknowledge": "ack", "resolve": "resolve", "escalate": "escalate"}
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit"}
START_WORDS = {"start", "yes", "unstop"}
_CODE = r"[0-9a-z]{2,6}"


@dataclass(frozen=True)
class Reply:
    verb: Verb
    code: str | None = None


def parse(text: str) -> Reply:
    words = (text or "").strip().lower().split()
    compact = "".join(words)
    if not compact:
        return Reply("unknown")
    if compact in STOP_WORDS:
        return Reply("stop")
    if compact in START_WORDS:
        return Reply("start")
    if compact in ("help", "info", "?"):
        return Reply("help")
    if compact == "aa":
        return Reply("ack_all")
    if compact in LETTERS:
        return Reply(LETTERS[compact])
    if len(words) == 2 and words[0] in WORDS and re.fullmatch(_CODE, words[1]):
        return Reply(WORDS[words[0]], words[1])
    match = re.fullmatch(f"({_CODE})([are])", compact)
    if match:
        return Reply(LETTERS[match.group(2)], match.group(1))
    return Reply("unknown")


def help_text() -> str:
    return ("Vigil: reply with the code from a page and a letter: a ack, r resolve, e escalate "
            "(e.g. 4ka). A bare a, r or e acts on your latest page; aa acks all.")
