"""The SMS reply grammar: codes and verbs either way round, bare letters for the latest page,
"aa" for a storm bundle, help, Twilio's opt-out and opt-in keywords, and everything else unknown."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from incidents.domain.page_text import is_gsm, sms_segments
from incidents.domain.replies import Reply, help_text, parse


@pytest.mark.parametrize("text, verb, code", [
    # <code><letter>
    ("4ka", "ack", "4k"), ("4kr", "resolve", "4k"), ("4ke", "escalate", "4k"),
    ("4KA", "ack", "4k"), (" 4k a ", "ack", "4k"), ("4 k e", "escalate", "4k"), ("4ka.", "ack", "4k"),
    ("xq7zza", "ack", "xq7zz"),                        # longer codes for busy people
    ("4kr\n", "resolve", "4k"),
    # <verb> <code>
    ("ack 4k", "ack", "4k"), ("ACK 4K", "ack", "4k"), ("ack4k", "ack", "4k"), ("acknowledge 4k", "ack", "4k"),
    ("resolve 4k", "resolve", "4k"), ("Resolve  4K!", "resolve", "4k"),
    ("escalate 4k", "escalate", "4k"), ("esc 4k", "escalate", "4k"),
    ("ack 4ke", "ack", "4ke"),                          # a verb word first wins over a trailing letter
    # bare: the latest page
    ("a", "ack", None), ("A", "ack", None), (" r ", "resolve", None), ("E", "escalate", None),
    ("ack", "ack", None), ("Acknowledge", "ack", None), ("resolve", "resolve", None), ("escalate", "escalate", None),
    ("a.", "ack", None),
    # storm bundles
    ("aa", "ack_all", None), ("AA", "ack_all", None), ("a a", "ack_all", None), ("ack all", "ack_all", None),
    # help
    ("help", "help", None), ("HELP", "help", None), ("info", "help", None), ("?", "help", None),
    # Twilio's opt-out and opt-in keywords
    ("STOP", "stop", None), ("stop", "stop", None), ("StopAll", "stop", None), ("UNSUBSCRIBE", "stop", None),
    ("cancel", "stop", None), ("END", "stop", None), ("quit", "stop", None), ("Stop.", "stop", None),
    ("START", "start", None), ("yes", "start", None), ("UNSTOP", "start", None),
    # anything else
    ("", "unknown", None), ("   ", "unknown", None), ("ok", "unknown", None), ("4k", "unknown", None),
    ("ra", "unknown", None),                            # a code has at least two characters
    ("thanks, on it", "unknown", None), ("stop paging me", "unknown", None), ("ack 4k!x", "unknown", None),
    ("4kqwerta", "unknown", None),                      # a code has at most six
    ("ack 4k please", "unknown", None), ("👍", "unknown", None), ("ack 4ķ", "unknown", None),
])
def test_parse(text, verb, code):
    assert parse(text) == Reply(verb, code)


def test_parse_takes_none():
    assert parse(None) == Reply("unknown")


@given(st.text(max_size=40))
def test_parse_never_raises_and_codes_are_lowercase_alphanumerics(text):
    reply = parse(text)
    assert reply.verb in ("ack", "resolve", "escalate", "ack_all", "help", "stop", "start", "unknown")
    if reply.code is not None:
        assert reply.verb in ("ack", "resolve", "escalate")
        assert 2 <= len(reply.code) <= 6 and reply.code.isascii() and reply.code.isalnum()
        assert reply.code == reply.code.lower()


@given(code=st.text(alphabet="23456789bcdfghjkmnpqstvwxz", min_size=2, max_size=6),
       letter=st.sampled_from("areARE"), spaces=st.sampled_from(["", " ", "  ", "\t"]))
def test_every_issued_code_reads_back(code, letter, spaces):
    verb = {"a": "ack", "r": "resolve", "e": "escalate"}[letter.lower()]
    assert parse(f"{spaces}{code.upper()}{spaces}{letter}{spaces}") == Reply(verb, code)
    word = {"ack": "ack", "resolve": "resolve", "escalate": "escalate"}[verb]
    assert parse(f"{word.upper()} {code}") == Reply(verb, code)


def test_help_text_fits_one_gsm_segment_and_names_every_form():
    text = help_text()
    assert is_gsm(text) and sms_segments(text) == 1 and len(text) <= 160
    for form in ("4ka", "4kr", "4ke", "aa", "STOP"):
        assert form in text
