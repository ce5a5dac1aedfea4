"""The reviewer recognises an opt-out line in its common wordings, in seven languages (SPEC §6)."""

from __future__ import annotations

import pytest

from nodes.email.reply_composer import OPT_OUT_LINES
from nodes.email.review_draft import review_email
from nodes.email.text_rules import has_opt_out_line


@pytest.mark.parametrize("language", sorted(OPT_OUT_LINES))
def test_each_composer_opt_out_line_is_recognised(language: str) -> None:
    body = f"Hola Ana,\n\nGracias.\n\nSaludos,\nSam\n\n{OPT_OUT_LINES[language]}"
    assert has_opt_out_line(body)
    assert "missing unsubscribe line" not in review_email("Re: idea", body).notes


@pytest.mark.parametrize(
    "line",
    [
        "Wenn Sie keine weiteren Nachrichten wünschen, genügt eine kurze Antwort.",
        "Sie können sich jederzeit abmelden.",
        "Si vous ne souhaitez plus recevoir nos messages, répondez STOP.",
        "Vous pouvez vous désabonner à tout moment.",
        "Si no desea recibir más mensajes, responda BAJA.",
        "Puede darse de baja cuando quiera.",
        "Se non desidera ricevere altre email, risponda STOP.",
        "U kunt zich altijd afmelden.",
        "Se não quiser receber mais mensagens, responda SAIR.",
    ],
)
def test_common_foreign_wordings_are_recognised(line: str) -> None:
    assert has_opt_out_line(f"Body.\n\n{line}")


@pytest.mark.parametrize(
    "body",
    [
        "Abmeldungen sind um die Hälfte gesunken, seit Sie die Kampagnen umgestellt haben.",
        "La tasa de bajas cayó un tercio el año pasado.",
        "Le taux de désabonnement a baissé de moitié.",
        "Il tasso di disiscrizione è sceso del 20%.",
        "Het aantal afmeldingen daalde vorig jaar.",
        "A taxa de descadastro caiu pela metade.",
        "Our unsubscribe rate fell by half last year.",
    ],
)
def test_a_body_that_merely_mentions_the_word_has_no_opt_out_line(body: str) -> None:
    assert not has_opt_out_line(body)
