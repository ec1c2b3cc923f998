"""Page texts: SMS segment arithmetic (GSM-7, its extension table, UCS-2 and emoji), pages trimmed
to the fewest segments without losing the reply instructions, and the Slack Block Kit page."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from incidents.domain.page_text import (GSM_BASIC, GSM_EXTENDED, Stamp, is_gsm, lead, slack_escape, slack_page_blocks,
                                        sms_bundle, sms_page, sms_segments, sms_units)
from tests.fakes import slack_blocks

REPLY = "Reply 4ka ack, 4kr resolve, 4ke escalate"


def page(title, customer="acme", due="10:30", number=142, severity_class=1, code="4k"):
    return sms_page(number, severity_class, title, customer, due, code)


# --- segment arithmetic ---------------------------------------------------------------------

def test_the_gsm_alphabet_has_its_127_basic_and_10_extension_characters():
    assert (len(GSM_BASIC), len(GSM_EXTENDED)) == (127, 10)
    assert not GSM_BASIC & GSM_EXTENDED


@pytest.mark.parametrize("text, gsm, units", [
    ("Checkout down", True, 13),
    ("Café Zürich Ñandú àèìò", False, 22),  # ú is not in GSM-7
    ("Café Zürich Ñandù àèìò", True, 22),
    ("a^b", True, 4), ("€5 {x} [y] ~|\\", True, 22),  # extension characters take two septets
    ("façade", False, 6),  # GSM-7 has Ç but not ç
    ("Сбой", False, 4),
    ("down 🔥", False, 7),  # an emoji is a surrogate pair: two UTF-16 units
    ("", True, 0),
])
def test_encoding_and_units(text, gsm, units):
    assert (is_gsm(text), sms_units(text)) == (gsm, units)


@pytest.mark.parametrize("text, segments", [
    ("", 0), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("a" * 158 + "€", 1), ("a" * 159 + "€", 2),
    ("a" * 152 + "€" + "a" * 152, 3),  # the escape pair is not split: 152 | €+151 | 1
    ("ж" * 70, 1), ("ж" * 71, 2), ("ж" * 134, 2), ("ж" * 135, 3),
    ("a" * 159 + "ж", 3),  # one Cyrillic letter makes 160 characters UCS-2: 67 + 67 + 26
    ("ж" * 68 + "🔥", 1), ("ж" * 69 + "🔥", 2),
    ("ж" * 66 + "🔥" + "ж" * 66, 3),  # a surrogate pair is not split either: 66 | 🔥+65 | 1
])
def test_segments(text, segments):
    assert sms_segments(text) == segments


# --- the page SMS -------------------------------------------------------------------------------

def test_a_page_says_what_which_class_whose_by_when_and_how_to_reply():
    assert page("Checkout down") == f"Vigil #142 C1 acme: Checkout down. Respond by 10:30. {REPLY}"


def test_a_title_ending_in_punctuation_gets_no_second_full_stop_and_no_customer_no_name():
    assert page("Checkout down!", customer=None, due=None) == f"Vigil #142 C1: Checkout down! {REPLY}"


def test_a_long_title_is_cut_at_a_word_with_an_ellipsis_to_fit_one_segment():
    title = "Payments failing for all EU customers since the deploy of build 4512 at 09:58 on the checkout service"
    text = page(title)
    assert sms_segments(text) == 1 and sms_units(text) <= 160
    assert text.endswith(f"... Respond by 10:30. {REPLY}")
    kept = text.removeprefix("Vigil #142 C1 acme: ").split("...")[0]
    assert title.startswith(kept) and title[len(kept)] == " "  # whole words only
    assert len(kept) > 60  # and not shorter than it must be


def test_extension_characters_count_twice_when_trimming():
    text = page("{" * 100)
    assert is_gsm(text) and sms_units(text) <= 160 and sms_segments(text) == 1
    assert len(text) < 160  # the braces took two septets each


def test_typographic_punctuation_accents_and_emoji_are_turned_into_gsm_to_stay_in_one_segment():
    text = page("🔥 “Checkout” down – p99 ≥ 5s in São Paulo… 🙈", customer="Łódź Café")
    assert text == f'Vigil #142 C1 Lodz Café: "Checkout" down - p99 >= 5s in Sao Paulo... Respond by 10:30. {REPLY}'
    assert is_gsm(text) and sms_segments(text) == 1


def test_a_title_with_no_gsm_form_stays_ucs2_and_fits_two_segments():
    title = "Сбой оплаты у всех клиентов в ЕС после выката сборки 4512 в 09:58 на сервисе оформления заказа 🔥"
    text = page(title)
    assert not is_gsm(text) and sms_segments(text) == 2
    assert "…" in text and text.endswith(f"Respond by 10:30. {REPLY}")


def test_a_short_non_gsm_page_keeps_its_emoji_when_the_customer_forces_ucs2_anyway():
    text = page("Checkout down 🔥", customer="Ромашка")
    assert "🔥" in text and sms_segments(text) == 2


def test_newlines_and_control_characters_in_user_text_do_not_reach_the_phone():
    assert page("Checkout\n\tdown\x07", customer=" acme\r\n") == page("Checkout down")


def test_a_long_customer_name_is_shortened():
    text = page("Checkout down", customer="Acme Intergalactic Holdings and Subsidiaries")
    assert text.startswith("Vigil #142 C1 Acme Intergalactic Ho...: Checkout down.")


def test_an_empty_title_still_pages():
    assert page("  ").startswith("Vigil #142 C1 acme: (no title). Respond")


printable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@settings(max_examples=300, deadline=None)
@given(title=printable, customer=st.one_of(st.none(), printable), code=st.sampled_from(["4k", "zz9"]))
def test_every_page_keeps_its_reply_instructions_and_needs_at_most_two_segments(title, customer, code):
    text = sms_page(9999, 3, title, customer, "Tue 10:30", code)
    assert text.startswith("Vigil #9999 C3")
    assert text.endswith(f"Respond by Tue 10:30. Reply {code}a ack, {code}r resolve, {code}e escalate")
    assert sms_segments(text) <= (1 if is_gsm(text) else 2)


@pytest.mark.parametrize("count, text", [
    (5, "Vigil: 5 more incidents for you. Reply aa to acknowledge all"),
    (1, "Vigil: 1 more incident for you. Reply aa to acknowledge all"),
])
def test_a_storm_bundle(count, text):
    assert sms_bundle(count, "a") == text and sms_segments(text) == 1


# --- the Slack page ------------------------------------------------------------------------------

PAGE = dict(incident_id=42, number=142, severity_class=1, title="Checkout down", customer="acme", due="10:30")


def buttons(blocks):
    return [(e["action_id"], e["value"], e.get("style")) for b in blocks if b["type"] == "actions"
            for e in b["elements"]]


def test_a_new_page_has_acknowledge_resolve_and_escalate_buttons_carrying_the_incident_id():
    text, blocks = slack_page_blocks(**PAGE, status="triggered", url="https://vigil.example.com/incidents/42")
    assert text == "Vigil #142 C1 acme: Checkout down (respond by 10:30)"
    assert blocks[0] == {"type": "section", "text": {
        "type": "mrkdwn",
        "text": ":rotating_light: *<https://vigil.example.com/incidents/42|#142> · Class 1 · acme*\nCheckout down"}}
    assert blocks[1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Respond by 10:30"}]}
    assert buttons(blocks) == [("ack", "42", "primary"), ("resolve", "42", None), ("escalate", "42", "danger")]


def test_an_acknowledged_page_says_who_and_when_and_keeps_resolve_and_escalate():
    text, blocks = slack_page_blocks(**PAGE, status="acknowledged", acknowledged=Stamp("Ana Lima", "10:12"))
    assert text == "Vigil #142 C1 acme: Checkout down (acknowledged by Ana Lima at 10:12)"
    assert blocks[1]["elements"] == [{"type": "mrkdwn", "text": "Acknowledged by *Ana Lima* at 10:12"}]
    assert buttons(blocks) == [("resolve", "42", None), ("escalate", "42", "danger")]


def test_a_resolved_page_has_no_buttons_and_says_who_resolved_and_who_acknowledged():
    text, blocks = slack_page_blocks(**PAGE, status="resolved", acknowledged=Stamp("Ana", "10:12"),
                                     resolved=Stamp("Bo", "10:40"))
    assert text.endswith("(resolved by Bo at 10:40)")
    assert [b["type"] for b in blocks] == ["section", "context"]
    assert [e["text"] for e in blocks[1]["elements"]] == ["Resolved by *Bo* at 10:40", "Acknowledged by *Ana* at 10:12"]
    assert blocks[0]["text"]["text"].startswith(":white_check_mark:")


def test_user_text_is_escaped_everywhere_so_it_cannot_link_or_mention():
    text, blocks = slack_page_blocks(**{**PAGE, "title": "<!channel> AT&T <https://evil|click>",
                                        "customer": "R&D <team>"}, status="acknowledged",
                                     acknowledged=Stamp("<@U1> & co", "10:12"), url="https://v.test/i?a=1&b=2")
    everything = json.dumps([text, blocks], ensure_ascii=False)
    for raw in ("<!channel>", "AT&T", "<https://evil", "R&D", "<team>", "<@U1>", "a=1&b"):
        assert raw not in everything
    assert "&lt;!channel&gt; AT&amp;T &lt;https://evil|click&gt;" in blocks[0]["text"]["text"]
    assert "<https://v.test/i?a=1&amp;b=2|#142>" in blocks[0]["text"]["text"]
    assert slack_blocks.problems(blocks) == []


@pytest.mark.parametrize("status, stamps", [
    ("triggered", {}), ("acknowledged", {"acknowledged": Stamp("Ana", "10:12")}),
    ("resolved", {"resolved": Stamp("Ana", "10:40")}), ("resolved", {}),
])
def test_every_form_passes_the_fakes_block_kit_checks_even_with_huge_escaped_text(status, stamps):
    huge = {**PAGE, "title": "&<>" * 2000, "customer": "&" * 500}
    text, blocks = slack_page_blocks(**huge, status=status, **stamps)
    assert slack_blocks.problems(blocks) == []
    assert slack_blocks.text_problems("text", text, limit=40000) == []


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        slack_page_blocks(**PAGE, status="snoozed")


def test_slack_escape_escapes_ampersand_first():
    assert slack_escape("&lt; <b> & >") == "&amp;lt; &lt;b&gt; &amp; &gt;"


def test_sla_warning_and_breach_pages_say_what_they_are_first():
    assert lead(-10) == lead(-14) == "SLA warning" and lead(-20) == "SLA BREACHED"
    assert lead(0) is None and lead(2) is None
    warning = sms_page(42, 1, "Checkout down", "acme", "10:30", "4k", lead=lead(-11))
    assert warning == "Vigil SLA warning #42 C1 acme: Checkout down. Respond by 10:30. Reply 4ka ack, 4kr resolve, 4ke escalate"
    breach = sms_page(42, 1, "Checkout down", "acme", "10:30", "4k", lead=lead(-20))
    assert breach.startswith("Vigil SLA BREACHED #42 C1 acme: Checkout down. Was due 10:30. Reply 4ka ack")
    text, blocks = slack_page_blocks(**PAGE, status="triggered", lead=lead(-20))
    assert text.startswith("Vigil SLA BREACHED #")
    assert blocks[0]["text"]["text"].split("\n")[0].endswith("*SLA BREACHED · #142 · Class 1 · acme*")
    assert blocks[1]["elements"][0]["text"] == "Was due 10:30" and text.endswith("(was due 10:30)")
