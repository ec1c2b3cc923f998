"""The SMS reply grammar. Case, spaces and surrounding punctuation do not matter:

  <code>a  or  ack <code>        acknowledge    bare "a" or "ack": the latest page to this number
  <code>r  or  resolve <code>    resolve        bare "r" or "resolve"
  <code>e  or  escalate <code>   escalate       bare "e" or "escalate"
  aa  or  ack all                acknowledge everything paged to this number (storm bundles)
  help, info, ?                  how to reply
  STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT          opt out (Twilio's keywords, whole message)
  START, YES, UNSTOP                                     opt back in
  anything else                  unknown (answered with the help text)

A code is the short per-recipient code printed in the page: CODE_MIN to CODE_MAX letters or
digits. Where a text reads both ways ("ack" + code, or a code ending in a verb letter), the verb
word first wins: whoever typed a word meant it. Keywords are whole messages, as Twilio matches
them, so "stop paging me" is unknown rather than an opt-out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Verb = Literal["ack", "resolve", "escalate", "ack_all", "help", "stop", "start", "unknown"]

CODE_MIN, CODE_MAX = 2, 6  # codes grow past 2 only for a person with very many open incidents
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
START_WORDS = frozenset({"start", "yes", "unstop"})
HELP_WORDS = frozenset({"help", "info", "?"})
ACK_ALL_WORDS = frozenset({"aa", "ackall", "acknowledgeall"})
LETTERS = {"a": "ack", "r": "resolve", "e": "escalate"}
WORDS = {"acknowledge": "ack", "ack": "ack", "resolve": "resolve", "escalate": "escalate",
         "esc": "escalate"}  # longest first, so "acknowledge4k" is not read as "ack" + "nowledge4k"
_KEYWORDS = {**{w: "stop" for w in STOP_WORDS}, **{w: "start" for w in START_WORDS},
             **{w: "help" for w in HELP_WORDS}, **{w: "ack_all" for w in ACK_ALL_WORDS}}
_CODE = re.compile(rf"[0-9a-z]{{{CODE_MIN},{CODE_MAX}}}")
_SPACE = re.compile(r"\s+")
_PUNCTUATION = ".,;:!'\"()"


@dataclass(frozen=True)
class Reply:
    verb: Verb
    code: str | None = None  # None: the latest page (or, for ack_all, every open one)


def parse(text: str | None) -> Reply:
    """What an SMS reply asks for; never raises."""
    compact = _SPACE.sub("", (text or "").lower())
    if compact in _KEYWORDS:
        return Reply(_KEYWORDS[compact])
    compact = compact.strip(_PUNCTUATION)
    if compact in _KEYWORDS:
        return Reply(_KEYWORDS[compact])
    if compact in LETTERS:
        return Reply(LETTERS[compact])
    if compact in WORDS:
        return Reply(WORDS[compact])
    for word, verb in WORDS.items():
        if compact.startswith(word) and _CODE.fullmatch(compact[len(word):]):
            return Reply(verb, compact[len(word):])
    if compact[-1:] in LETTERS and _CODE.fullmatch(compact[:-1]):
        return Reply(LETTERS[compact[-1]], compact[:-1])
    return Reply("unknown")


def help_text() -> str:
    """The answer to "help" and to anything not understood: one GSM-7 segment."""
    return ("Vigil: reply with the page's code and a letter: 4ka ack, 4kr resolve, 4ke escalate. "
            "a, r or e alone: your latest page. aa: ack all. STOP ends texts.")
