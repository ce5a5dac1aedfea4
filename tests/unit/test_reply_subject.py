"""A reply's subject carries one `Re:`, whatever prefix the sender's mail client used."""

from __future__ import annotations

import pytest

from schemas.values import reply_subject, without_reply_prefix


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Quick idea",
        "RE: Re: Quick idea",
        "AW: Quick idea",
        "Antw: Quick idea",
        "Antwort: Quick idea",
        "RE : Quick idea",
        "Réf. : Quick idea",
        "TR: Quick idea",
        "RV: Quick idea",
        "R: Quick idea",
        "Rif: Quick idea",
        "RES: Quick idea",
        "SV: Quick idea",
        "VS: Quick idea",
        "WG: Quick idea",
        "Fwd: Re: Quick idea",
        "Re[2]: Quick idea",
        "Odp: Quick idea",
    ],
)
def test_any_common_reply_prefix_becomes_one_re(subject: str) -> None:
    assert reply_subject(subject) == "Re: Quick idea"


@pytest.mark.parametrize(
    "subject", ["Rebranding plan", "R&D budget", "Reference: order 12", "Réponse automatique : x"]
)
def test_a_subject_that_only_starts_like_a_prefix_is_kept(subject: str) -> None:
    assert without_reply_prefix(subject) == subject
