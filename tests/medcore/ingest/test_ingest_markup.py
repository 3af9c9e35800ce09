from __future__ import annotations

import pytest

from medcore.ingest.markup import html_to_text, rtf_to_text


def test_html_blocks_become_lines_and_scripts_are_dropped() -> None:
    html = (
        "<html><head><title>t</title><script>var x=1;</script></head><body>"
        "<h1>Plan</h1><p>Start  <b>lisinopril</b>\n 10 mg &amp; recheck.<br>BP 150/90</p>"
        "<ul><li>HTN</li><li>CKD 3</li></ul><table><tr><th>Test</th><th>Value</th></tr>"
        "<tr><td>K</td> <td>5.1 </td></tr></table></body></html>"
    )
    assert html_to_text(html) == (
        "Plan\nStart lisinopril 10 mg & recheck.\nBP 150/90\n- HTN\n- CKD 3\nTest | Value\nK | 5.1"
    )


def test_html_pre_keeps_line_breaks() -> None:
    assert html_to_text("<pre>line one\nline two</pre>") == "line one\nline two"


def test_rtf_control_words_tables_and_destinations_are_stripped() -> None:
    rtf = (
        r"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}}{\colortbl;\red255\green0\blue0;}"
        r"{\*\generator Msftedit 5.41;}{\info{\author Dr Secret}}\pard\f0\fs20 "
        r"\b HPI:\b0\par Na\'efve pt, 5\'b0 flexion \{ok\}.\line Next\par "
        r"\trowd\cellx1000\cellx2000 Na\cell 139\cell\row "
        r"{\field{\*\fldinst HYPERLINK \"http://x\"}{\fldrslt see chart}}\par}"
    )
    assert rtf_to_text(rtf) == "HPI:\nNa\u00efve pt, 5\u00b0 flexion {ok}.\nNext\nNa | 139\nsee chart"


def test_rtf_unicode_escape_skips_its_fallback_characters() -> None:
    assert rtf_to_text(r"{\rtf1\uc1 a\u8212-b \uc2\u8804xy c}") == "a\u2014b \u2264 c"


@pytest.mark.parametrize("bad", ["plain text", r"{\rtf1 unclosed", r"{\rtf1 a}}"])
def test_rtf_refuses_non_rtf_and_unbalanced_braces(bad: str) -> None:
    with pytest.raises(ValueError):
        rtf_to_text(bad)
