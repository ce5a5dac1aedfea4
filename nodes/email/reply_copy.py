"""The words of a reply in each language the composer writes: EN, DE, FR, ES, IT, NL, PT.

A reply addresses a stranger at work, so each language takes its polite form (Sie, vous,
usted, lei, u). No wording names a product, a number or a day, and none ends in "!": what
a reply names comes from the inbound (`reply_composer`), so every name is traceable.
Placeholders: `{first}`, `{names}` (what a question asks about), `{term}` (when a "not
now" says to come back), `{person}` (who a referral points to), `{offer}` and `{walk}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodes.email.offline_composer import UNSUBSCRIBE_LINE


@dataclass(frozen=True)
class ReplyWording:
    """One language's sentences for each kind of reply."""

    hello: str
    """The greeting with a first name: "Hola {first},"."""
    hello_alone: str
    """The greeting when the CRM has no usable first name."""
    pricing: str
    """Talks about price without a figure: a person adds the figures before it goes."""
    walkthrough: str
    """The pricing reply's next step. English quotes the offer (`{offer}`); the others say
    `{walk}` (`walk_minutes` or `walk_short`), since the offer is English CRM text."""
    walk_minutes: str
    """How long the walkthrough takes, from the offer: "en {minutes} minutos"."""
    walk_short: str
    """The walkthrough when the offer names no length."""
    question: str
    question_about: str
    """A question about named things; never claims an answer, a colleague confirms it."""
    timing: str
    timing_term: str
    """A "not now" that names when: acknowledged verbatim in brackets, never a meeting ask."""
    referral: str
    referral_to: str
    not_interested: str
    """A polite close: no pitch, no ask, no follow-up."""
    unclear: str
    """No clear question: thanks, and nothing it cannot answer."""
    subject: str
    """The subject when the inbound had none to answer."""
    and_: str


WORDINGS: dict[str, ReplyWording] = {
    "en": ReplyWording(
        hello="Hi {first},",
        hello_alone="Hello,",
        pricing="Thank you for asking about price. It depends mainly on the size of your team "
        "and how you would use it, so rather than guess a figure, I'll send you a concrete "
        "quote.",
        walkthrough="In the meantime, would {offer} be useful?",
        walk_minutes="in {minutes} minutes",
        walk_short="in a short call",
        question="Thank you for your question. I'd rather not guess, so a colleague who knows "
        "the details will confirm the exact answer.",
        question_about="Thank you for your question about {names}. I'd rather not guess, so a "
        "colleague who knows the details will confirm the exact answer.",
        timing="Thank you for letting me know. I'll get back in touch when the timing suits "
        "you better.",
        timing_term="Thank you for letting me know. I've noted the timing ({term}) and will get "
        "back in touch then.",
        referral="Thank you for pointing me to the right person.",
        referral_to="Thank you for pointing me to {person}; I'll reach out directly.",
        not_interested="Thank you for letting me know, and understood. I won't follow up on this.",
        unclear="Thank you for your reply. I'll get back to you shortly.",
        subject="Your message",
        and_="and",
    ),
    "de": ReplyWording(
        hello="Hallo {first},",
        hello_alone="Hallo,",
        pricing="Vielen Dank für Ihre Frage zum Preis. Er hängt vor allem von der Größe Ihres "
        "Teams und der Nutzung ab; statt zu schätzen, schicke ich Ihnen gern ein konkretes "
        "Angebot.",
        walkthrough="Wenn es Ihnen hilft, zeige ich Ihnen vorher auch gern {walk}, wie es "
        "funktioniert.",
        walk_minutes="in {minutes} Minuten",
        walk_short="in einem kurzen Gespräch",
        question="Vielen Dank für Ihre Frage. Ich möchte nichts Falsches sagen: Ein Kollege, der "
        "sich damit genau auskennt, bestätigt Ihnen die genaue Antwort.",
        question_about="Vielen Dank für Ihre Frage zu {names}. Ich möchte nichts Falsches "
        "sagen: Ein Kollege, der sich damit genau auskennt, bestätigt Ihnen die genaue Antwort.",
        timing="Vielen Dank für Ihre Rückmeldung. Ich melde mich zu einem späteren Zeitpunkt "
        "wieder bei Ihnen.",
        timing_term="Vielen Dank für Ihre Rückmeldung. Ich habe mir den Zeitpunkt notiert "
        "({term}) und melde mich dann wieder bei Ihnen.",
        referral="Vielen Dank für den Hinweis auf die richtige Ansprechperson.",
        referral_to="Vielen Dank für den Hinweis. Ich wende mich direkt an {person}.",
        not_interested="Vielen Dank für Ihre Rückmeldung, das verstehe ich. Ich werde mich "
        "dazu nicht weiter bei Ihnen melden.",
        unclear="Vielen Dank für Ihre Nachricht. Ich melde mich dazu in Kürze bei Ihnen.",
        subject="Ihre Nachricht",
        and_="und",
    ),
    "fr": ReplyWording(
        hello="Bonjour {first},",
        hello_alone="Bonjour,",
        pricing="Merci pour votre question sur le prix. Il dépend surtout de la taille de votre "
        "équipe et de l'usage que vous en aurez ; plutôt que d'avancer un chiffre, je vous "
        "enverrai une proposition concrète.",
        walkthrough="Si cela vous aide, je peux aussi vous montrer comment cela fonctionne {walk}.",
        walk_minutes="en {minutes} minutes",
        walk_short="lors d'un court échange",
        question="Merci pour votre question. Je préfère ne pas vous répondre approximativement : "
        "mon collègue, qui connaît le sujet en détail, reviendra vers vous avec la réponse "
        "exacte.",
        question_about="Merci pour votre question sur {names}. Je préfère ne pas vous répondre "
        "approximativement : mon collègue, qui connaît le sujet en détail, reviendra vers vous "
        "avec la réponse exacte.",
        timing="Merci pour votre réponse. Je reprendrai contact avec vous plus tard, le moment "
        "venu.",
        timing_term="Merci pour votre réponse. J'ai bien noté la période ({term}) et je "
        "reprendrai contact avec vous à ce moment-là.",
        referral="Merci de m'indiquer la bonne personne.",
        referral_to="Merci pour l'indication. Je vais contacter {person} directement.",
        not_interested="Merci pour votre réponse, c'est bien compris. Je ne vous relancerai pas "
        "à ce sujet.",
        unclear="Merci pour votre message. Je reviens vers vous très prochainement.",
        subject="Votre message",
        and_="et",
    ),
    "es": ReplyWording(
        hello="Hola {first},",
        hello_alone="Hola,",
        pricing="Gracias por su pregunta sobre el precio. Depende sobre todo del tamaño de su "
        "equipo y del uso que le vayan a dar, así que, en lugar de darle una cifra "
        "aproximada, le enviaré una propuesta concreta.",
        walkthrough="Si le resulta útil, también puedo mostrarle cómo funciona {walk}.",
        walk_minutes="en {minutes} minutos",
        walk_short="en una breve llamada",
        question="Gracias por su pregunta. Prefiero no darle una respuesta a medias: mi colega, "
        "que conoce el tema en detalle, le confirmará la respuesta exacta.",
        question_about="Gracias por su pregunta sobre {names}. Prefiero no darle una respuesta "
        "a medias: mi colega, que conoce el tema en detalle, le confirmará la respuesta exacta.",
        timing="Gracias por avisarme. Volveré a escribir más adelante, cuando sea un mejor "
        "momento para usted.",
        timing_term="Gracias por avisarme. Tomo nota ({term}) y volveré a escribirle entonces.",
        referral="Gracias por indicarme la persona adecuada.",
        referral_to="Gracias por la indicación. Me pondré en contacto directamente con {person}.",
        not_interested="Gracias por su respuesta, entendido. No volveré a insistir sobre este "
        "tema.",
        unclear="Gracias por su mensaje. Le responderé en breve.",
        subject="Su mensaje",
        and_="y",
    ),
    "it": ReplyWording(
        hello="Buongiorno {first},",
        hello_alone="Buongiorno,",
        pricing="Grazie per la sua domanda sul prezzo. Dipende soprattutto dalla dimensione del "
        "suo team e dall'uso che ne farete, quindi, invece di darle una cifra approssimativa, "
        "le invierò una proposta concreta.",
        walkthrough="Se le è utile, posso anche mostrarle come funziona {walk}.",
        walk_minutes="in {minutes} minuti",
        walk_short="in una breve chiamata",
        question="Grazie per la sua domanda. Preferisco non darle una risposta approssimativa: "
        "il mio collega, che conosce bene l'argomento, le confermerà la risposta esatta.",
        question_about="Grazie per la sua domanda su {names}. Preferisco non darle una risposta "
        "approssimativa: il mio collega, che conosce bene l'argomento, le confermerà la "
        "risposta esatta.",
        timing="Grazie per la risposta. La ricontatterò più avanti, quando sarà il momento "
        "giusto per lei.",
        timing_term="Grazie per la risposta. Ne prendo nota ({term}) e la ricontatterò allora.",
        referral="Grazie per avermi indicato la persona giusta.",
        referral_to="Grazie per l'indicazione. Contatterò direttamente {person}.",
        not_interested="Grazie per la risposta, capito. Non la disturberò più su questo argomento.",
        unclear="Grazie per il suo messaggio. Le risponderò a breve.",
        subject="Il suo messaggio",
        and_="e",
    ),
    "nl": ReplyWording(
        hello="Beste {first},",
        hello_alone="Goedendag,",
        pricing="Bedankt voor uw vraag over de prijs. Die hangt vooral af van de grootte van uw "
        "team en hoe u het wilt gebruiken; in plaats van een bedrag te gokken, stuur ik u een "
        "concreet voorstel.",
        walkthrough="Als het helpt, laat ik u ook graag {walk} zien hoe het werkt.",
        walk_minutes="in {minutes} minuten",
        walk_short="in een kort gesprek",
        question="Bedankt voor uw vraag. Ik wil niet gokken: mijn collega, die er alles van weet, "
        "bevestigt u het precieze antwoord.",
        question_about="Bedankt voor uw vraag over {names}. Ik wil niet gokken: mijn collega, "
        "die er alles van weet, bevestigt u het precieze antwoord.",
        timing="Bedankt voor uw bericht. Op een beter moment neem ik weer contact op.",
        timing_term="Bedankt voor uw bericht. Ik heb het genoteerd ({term}); dan neem ik weer "
        "contact op.",
        referral="Bedankt dat u mij naar de juiste persoon verwijst.",
        referral_to="Bedankt voor de verwijzing. Ik neem rechtstreeks contact op met {person}.",
        not_interested="Bedankt voor uw bericht, begrepen. Ik zal hierover geen contact meer "
        "met u opnemen.",
        unclear="Bedankt voor uw bericht. Ik kom er binnenkort bij u op terug.",
        subject="Uw bericht",
        and_="en",
    ),
    "pt": ReplyWording(
        hello="Olá {first},",
        hello_alone="Olá,",
        pricing="Obrigado pela sua pergunta sobre o preço. Depende sobretudo do tamanho da sua "
        "equipe e do uso que vão fazer, por isso, em vez de arriscar um valor, vou enviar uma "
        "proposta concreta.",
        walkthrough="Se ajudar, também posso mostrar como funciona {walk}.",
        walk_minutes="em {minutes} minutos",
        walk_short="em uma chamada curta",
        question="Obrigado pela sua pergunta. Prefiro não dar uma resposta pela metade: meu "
        "colega, que conhece bem o assunto, vai confirmar a resposta exata.",
        question_about="Obrigado pela sua pergunta sobre {names}. Prefiro não dar uma resposta "
        "pela metade: meu colega, que conhece bem o assunto, vai confirmar a resposta exata.",
        timing="Obrigado pelo retorno. Volto a entrar em contato mais adiante, num momento "
        "melhor para você.",
        timing_term="Obrigado pelo retorno. Fica anotado ({term}) e volto a entrar em contato "
        "nessa época.",
        referral="Obrigado por me indicar a pessoa certa.",
        referral_to="Obrigado pela indicação. Vou entrar em contato diretamente com {person}.",
        not_interested="Obrigado pelo retorno, entendido. Não vou voltar a insistir neste assunto.",
        unclear="Obrigado pela sua mensagem. Respondo em breve.",
        subject="Sua mensagem",
        and_="e",
    ),
}
SIGN_OFF_LINES: dict[str, str] = {
    "en": "Best,",
    "de": "Viele Grüße,",
    "fr": "Cordialement,",
    "es": "Saludos,",
    "it": "Cordiali saluti,",
    "nl": "Met vriendelijke groet,",
    "pt": "Atenciosamente,",
}
OPT_OUT_LINES: dict[str, str] = {
    "en": UNSUBSCRIBE_LINE,
    "de": "Wenn Sie keine weiteren E-Mails von mir erhalten möchten, antworten Sie einfach "
    "mit „abmelden“.",
    "fr": "Si vous ne souhaitez plus recevoir mes e-mails, répondez « désabonner » et je ne "
    "vous écrirai plus.",
    "es": "Si prefiere no recibir más correos, responda «darme de baja» y no volveré a escribirle.",
    "it": "Se preferisce non ricevere altre e-mail, risponda «cancellami» e non le scriverò più.",
    "nl": "Als u geen e-mails meer van mij wilt ontvangen, antwoord dan “afmelden”.",
    "pt": "Se preferir não receber mais e-mails, responda “descadastrar” e não voltarei a "
    "escrever.",
}
"""One line telling the reader how to stop the emails, with a word the inbox poll reads as
an opt-out (`coachgraph.inbound.text`) and the reviewer recognises (`has_opt_out_line`)."""
