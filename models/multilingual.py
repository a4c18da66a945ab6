"""Explicit requests to leave written in German, Spanish, French, Italian, Dutch or Portuguese.

The bundled models read English only. Until a multilingual model ships, these hand-written cue
lists keep the most common European languages from passing as ``none``: an ending verb or noun
(cancel, terminate, close, delete, "do not renew") within a few words of a relationship noun
(contract, subscription, account, membership, plan, service, line, policy), in either order for
the verb-final languages (de, nl), or a standalone leaving phrase ("ich kündige", "darme de
baja", "ma résiliation", "disdico", "mijn opzegging", "não quero mais ser cliente").

A match is rejected when the words between verb and noun, or the few words after it, name a
single order, booking, transfer, payment, option or newsletter, when a negation comes just
before it ("je ne veux pas résilier"), right after it or at the end of its clause ("ich
kündige meinen Vertrag nicht"), or when the clause asks a hypothetical or fee question
before it ("¿cuánto cuesta si cancelo el contrato?", "frais de résiliation"). Matching
ignores accents and case (``unicodedata``), and never crosses a comma or a sentence end.
English text gives ``None``: ``models.cues`` handles it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from models.language import detect_language

__all__ = ["LANGUAGES", "LeavingCue", "detect_leaving_request"]

_SEP = r"[^\w.,;:!?\n]{1,4}"  # between two words, never across a clause boundary
_WINDOW = 4  # at most this many words between the ending word and the relationship noun
_AFTER_WORDS = 3  # words after a match checked for an order/newsletter exclusion


@dataclass(frozen=True)
class LeavingCue:
    """A matched request to leave: its language (ISO 639-1) and the matched span of the text."""

    language: str
    phrase: str


@dataclass(frozen=True)
class _Cues:
    """One language's cue lists, as regex alternations over accent-free, casefolded text."""

    ending: str  # verbs and nouns of ending (cancel, terminate, close, delete, not renew)
    nouns: str  # relationship nouns (contract, subscription, account, membership, plan, ...)
    phrases: str  # standalone leaving phrases
    excluded: str  # nouns that make the object a single order, booking, payment or newsletter
    negation: str  # words that, just before a cue, turn it around
    hedge: str  # "if", "how much", termination-fee words: earlier in the clause, a question
    noun_first: bool = False  # also match "noun ... verb" (verb-final word order)


# German: kündigen/Kündigung, beenden, auflösen, löschen, schließen, stornieren, widerrufen,
# "nicht verlängern"; compounds (Mobilfunkvertrag, Girokonto) match by their last part.
_DE = _Cues(
    ending=r"(?:ge)?k(?:u|ue)ndig(?:e|en|t|te|ten|st|ung)|beend(?:e|en|et|ete|igen|ige|igt|igung)"
           r"|auf(?:lo|loe)s(?:en|e|t|ung)|(?:lo|loe)sch(?:en|e|t|ung)"
           r"|storn(?:ieren|iere|iert|ierung)|widerruf(?:e|en|t)?|austritt|austreten"
           r"|auslaufen\s+lassen"
           r"|nicht\s+(?:mehr\s+)?verl(?:a|ae)nger(?:n|t|e)",
    nouns=r"\w*(?:vertrag|abo|abonnement|mitgliedschaft|konto|versicherung|police|tarif"
          r"|anschluss|account|zugang|geschaftsbeziehung|zusammenarbeit)(?:es|s|e|en|n)?",
    phrases=r"\bich\s+k(?:u|ue)ndige\b|\bk(?:u|ue)ndige\s+(?:hiermit|ich)\b"
            r"|\bmein(?:e|er)?\s+k(?:u|ue)ndigung\b|^\W*k(?:u|ue)ndigung\b"
            r"|\b(?:mochte|moechte|will|werde|wurde\s+gerne?)\s+(?:(?:gerne?|hiermit|jetzt|sofort"
            r"|bitte|endlich|fristgerecht|alles)\s+){0,2}k(?:u|ue)ndigen\b"
            r"|\b(?:raus|aussteigen)\s+aus\s+(?:dem|meinem|diesem)\s+\w*vertrag\b"
            r"|\b\w*(?:vertrag|abo|abonnement|mitgliedschaft)\s+soll\s+(?:\w+\s+){0,3}?auslaufen\b"
            r"|\baus\s+(?:dem|meinem|diesem)\s+\w*vertrag\s+(?:\w+\s+){0,2}?(?:raus|aussteigen)\b"
            r"|\b(?:zur\s+konkurrenz|zu\s+einem\s+anderen\s+anbieter)\s+(?:\w+\s+){0,2}?"
            r"(?:gewechselt|wechseln)\b|\b(?:wechsle|wechsele)\s+(?:\w+\s+){0,2}?"
            r"(?:zur\s+konkurrenz|den\s+anbieter)\b|\b\w*kont(?:o|en)\s+(?:\w+\s+){0,3}?"
            r"schliess(?:en|e|t)\b|\bschliess(?:en|e|t)\s+(?:\w+\s+){0,4}?\w*kont(?:o|en)\b",
    excluded=r"\w*(?:bestellung|auftrag|buchung|reservierung|uberweisung|lastschrift|zahlung"
             r"|newsletter|option|paket|lieferung|termin|rechnung|karte)\w*",
    negation=r"nicht|kein|keine|keinen|statt|anstatt",
    hedge=r"wenn|falls|ob|wie\s*viel|\w*gebuhr\w*|\w*frist\w*|strafe",
    noun_first=True,
)

# Spanish: cancelar, anular, rescindir, dar(se) de baja, cerrar, eliminar/borrar, terminar,
# "no renovar".
_ES = _Cues(
    ending=r"cancel(?:ar|o|a|e|en|amos|acion)|anul(?:ar|o|a|e|en|acion)"
           r"|rescind(?:ir|o|a|an|e|imos)|rescision"
           r"|(?:dar(?:me|nos|le|se)?|doy|da|dan|den|de|dame|denme|deme)\s+de\s+baja"
           r"|baja(?:\s+inmediata|\s+definitiva)?(?=\s+del?\b)|cerr(?:ar|ad|en|e|o)|cierr(?:e|en|a|o)"
           r"|elimin(?:ar|en|e|a)|borr(?:ar|en|e|a)|terminar|finalizar|desactiv(?:ar|en|e)"
           r"|no\s+(?:quiero\s+|deseo\s+|voy\s+a\s+|vamos\s+a\s+)?renovar|no\s+renovare",
    nouns=r"(?:contrato|suscripcion|subscripcion|cuenta|membresia|abono|linea|plan|servicio"
          r"|poliza|seguro|tarifa|afiliacion|perfil)(?:s|es)?",
    phrases=r"\b(?:darme|darnos)\s+de\s+baja\b|\bme\s+doy\s+de\s+baja\b|\bmi\s+baja\b"
            r"|\bsolicito\s+la\s+baja\b|\bme\s+(?:den|de|da|dan)\s+de\s+baja\b|\bme\s+(?:voy|cambio|paso)\s+a\s+(?:otra|otro)\s+"
            r"(?:compania|operador|operadora|banco|empresa|proveedor|aseguradora)\b"
            r"|\bno\s+quiero\s+(?:ser|seguir)\s+(?:siendo\s+)?(?:su\s+)?cliente\b"
            r"|\bno\s+quiero\s+seguir\s+con\s+(?:ustedes|vosotros|su\s+(?:empresa|compania))\b"
            r"|\bcancel(?:en|o|a|ar)\s+todo\b"
            r"|\bme\s+(?:cambie|he\s+cambiado)\s+de\s+(?:compania|operador|banco|proveedor)\b",
    excluded=r"pedido|orden|compra|reserva|reservacion|vuelo|billete|cita|transferencia|pago"
             r"|cargo|cobro|recibo|factura|boletin|newsletter|correos?|notificaciones"
             r"|publicidad|opcion|complemento|tarjeta|envio|entrega|domiciliacion|medica"
             r"|laboral|maternidad|paternidad",
    negation=r"no|nunca|tampoco",
    hedge=r"si|cuanto|penalizacion|penalidad|permanencia|plazo",
)

# French: résilier/résiliation, annuler, clôturer, fermer, supprimer, mettre fin/un terme à,
# arrêter, se désabonner, quitter, "ne pas renouveler".
_FR = _Cues(
    ending=r"resili(?:er|e|es|ez|ons|ent|erai|ation)|annul(?:er|e|ez|ons|ation)"
           r"|clotur(?:er|e|ez|ons)|ferm(?:er|e|ez|ons|eture)|supprim(?:er|e|ez|ons)|suppression"
           r"|mettre\s+(?:fin|un\s+terme)\s+(?:a|au|aux)|arret(?:er|e|ez)|desabonn(?:er|e|ez)"
           r"|stopp(?:er|e|ez)|quitt(?:er|e)"
           r"|ne\s+(?:\w+\s+)?renouvel\w*\s+pas|ne\s+pas\s+renouveler",
    nouns=r"(?:contrat|abonnement|compte|adhesion|forfait|ligne|box|assurance|mutuelle|police"
          r"|livret|service|inscription|profil|espace\s+client)s?",
    phrases=r"\b(?:ma|notre)\s+resiliation\b|\bdemande\s+de\s+resiliation\b"
            r"|^\W*(?:objet\s*:\s*)?resiliation\b|\bje\s+resilie\b|\bresiliez\s+tout\b"
            r"|\bje\s+(?:vous\s+)?quitte\s+(?:votre|vos)\b|\bme\s+desabonner\b"
            r"|\bne\s+(?:veux|souhaite)\s+plus\s+etre\s+(?:votre\s+)?client"
            r"|\bj'ai\s+trouve\s+moins\s+cher\s+ailleurs\b",
    excluded=r"commande|reservation|vol|billet|rendez|virement|paiement|prelevement"
             r"|newsletter|lettre|e-?mails?|notifications?|option|carte|livraison|colis"
             r"|facture|achat",
    negation=r"ne|n|pas|jamais",
    hedge=r"si|combien|frais|penalites?|delai|preavis",
)

# Italian: disdire/disdetta, recedere/recesso, annullare, chiudere/chiusura, cancellare,
# interrompere, cessare, eliminare, disattivare, "non rinnovare".
_IT = _Cues(
    ending=r"disd(?:ire|ico|ici|ice|ite|etta|etto|iciamo)|recede(?:re)?|recedo|recesso"
           r"|annull(?:are|o|ate|amento)|chiud(?:ere|o|ete|i|iamo)(?:mi|ci|lo|la)?|chiusura"
           r"|cancell(?:are|ate|o|azione)|interromp(?:ere|o|ete)|interruzione|terminare"
           r"|cess(?:are|azione)|elimin(?:are|ate|o)|disattiv(?:are|ate|o|azione)"
           r"|non\s+(?:voglio\s+|intendo\s+|vorrei\s+)?rinnov(?:are|ero|eremo)",
    nouns=r"(?:contratt|abbonament|cont|account|iscrizion|tessera|polizz|line|utenz|fornitur"
          r"|sim|pian|servizi|profil|palestr|adesion)[aeio]?",
    phrases=r"\bdisdico\b|\bdisd\w*\s+tutto\b|\bla\s+(?:mia\s+)?disdetta\b|^\W*disdetta\b"
            r"|\bnon\s+voglio\s+piu\s+essere\s+(?:vostr[oa]\s+)?client[ei]\b"
            r"|\bpasso\s+a\s+(?:un\s+)?altr[oa]\s+(?:operatore|gestore|banca|fornitore"
            r"|compagnia)\b|\bdiritto\s+di\s+recesso\b",
    excluded=r"ordine|prenotazione|volo|biglietto|bonifico|pagamento|addebito|newsletter"
             r"|notifiche|e-?mail|opzione|carta|spedizione|pacco|acquisto|appuntamento"
             r"|fattura|bolletta",
    negation=r"non|mai",
    hedge=r"se|quanto|penale|penali|costi|preavviso|termini",
)

# Dutch: opzeggen/opzegging (and "zeg ... op"), beëindigen, stopzetten/stoppen met,
# opheffen ("hef ... op"), sluiten, verwijderen, annuleren, "niet verlengen".
_NL_NOUNS = (r"\w*(?:contract|ab+on+ement|rekening|lidmaatschap|verzekering|account|polis"
             r"|aansluiting|dienst|profiel)(?:en|s)?")
_NL = _Cues(
    ending=r"opzeg(?:gen|t)|opgezegd|opzegging|beeindig(?:en|t|d|ing)?"
           r"|stop(?:pen\s+met|pen|zetten|gezet|zet)|stopzetting|opheff(?:en|ing)|hef"
           r"|sluit(?:en|ing)?|verwijder(?:en|d|ing)?|annuler(?:en|ing)"
           r"|niet\s+(?:meer\s+)?(?:automatisch\s+)?verl(?:e|o)ng(?:en|d|t)",
    nouns=_NL_NOUNS,
    phrases=r"\bzeg(?:t|gen)?\s+(?:(?!niet\b|geen\b)\w+\s+){0,4}?(?:" + _NL_NOUNS
            + r"|alles)\s+(?:(?!niet\b)\w+\s+){0,3}?op\b"
            r"|\b(?:mijn|onze|de)\s+opzegging\b|^\W*opzegging\b|\bik\s+stop\s+ermee\b"
            r"|\bik\s+zeg\s+(?:het\s+|alles\s+)?op\b"
            r"|\bik\s+(?:wil|ga|zal)\s+(?:(?:graag|hierbij|nu|direct|meteen|alles)\s+){0,2}"
            r"opzeggen\b"
            r"|\bgeen\s+klant\s+meer\b|\bik\s+ga\s+weg\s+bij\s+(?:jullie|u)\b"
            r"|\b(?:overgestapt|stap\s+over)\s+naar\s+(?:een\s+)?(?:andere|nieuwe)\b",
    excluded=r"\w*(?:bestelling|order|boeking|reservering|overboeking|overschrijving|betaling"
             r"|incasso|nieuwsbrief|optie|levering|afspraak|factuur)\w*|mail\w*",
    negation=r"niet|geen|nooit",
    hedge=r"als|indien|hoeveel|boete|kosten|opzegtermijn",
    noun_first=True,
)

# Portuguese: cancelar/cancelamento, anular, rescindir/rescisão, encerrar, terminar, excluir,
# desativar, dar baixa, denúncia do contrato, "não renovar".
_PT = _Cues(
    ending=r"cancel(?:ar|a|o|e|em|amento|ei)|anul(?:ar|em|e|a|o)|rescind(?:ir|o|a|am)|rescisao"
           r"|encerr(?:ar|e|em|o|a|amento)|terminar|exclu(?:ir|a|am)|desativ(?:ar|e|em)"
           r"|desist(?:ir|o|imos|encia)"
           r"|(?:dar|de|deem)\s+baixa|denuncia|apagar|fech(?:ar|em|e|o|a)"
           r"|nao\s+(?:vou\s+|quero\s+|vamos\s+|desejo\s+|pretendo\s+)?renovar",
    nouns=r"(?:contrato|assinatura|conta|plano|adesao|linha|servico|seguro|apolice|subscricao"
          r"|matricula|perfil)s?",
    phrases=r"\bnao\s+quero\s+mais\s+ser\s+(?:seu\s+|vosso\s+)?cliente\b|\bcancel\w*\s+tudo\b"
            r"|\bpedido\s+de\s+(?:rescisao|cancelamento)\b"
            r"|\b(?:mudar|mudando|mudei)\s+de\s+(?:operadora|banco|seguradora|fornecedor)\b",
    excluded=r"encomenda|pedido|compra|reserva|voo|bilhete|passagem|transferencia|pagamento"
             r"|cobranca|fatura|newsletter|inscricao|e-?mails?|notificacoes|opcao|cartao"
             r"|entrega|agendamento|consulta",
    negation=r"nao|nunca",
    hedge=r"se|quanto|multa|taxa|penalizacao|prazo",
)

LANGUAGES: dict[str, _Cues] = {"de": _DE, "es": _ES, "fr": _FR, "it": _IT, "nl": _NL, "pt": _PT}


@dataclass(frozen=True)
class _Compiled:
    forms: tuple[re.Pattern[str], ...]  # verb-first, [noun-first,] phrases
    excluded: re.Pattern[str]
    negation: re.Pattern[str]
    hedge: re.Pattern[str]


def _compile(cues: _Cues) -> _Compiled:
    gap = rf"(?P<gap>(?:\w+{_SEP}){{0,{_WINDOW}}}?)"
    forms = [re.compile(rf"\b(?:{cues.ending}){_SEP}{gap}\b(?:{cues.nouns})\b")]
    if cues.noun_first:
        forms.append(re.compile(rf"\b(?:{cues.nouns}){_SEP}{gap}\b(?:{cues.ending})\b"))
    forms.append(re.compile(cues.phrases))
    return _Compiled(tuple(forms), re.compile(rf"\b(?:{cues.excluded})\b"),
                     re.compile(rf"\b(?:{cues.negation})\b"), re.compile(rf"\b(?:{cues.hedge})\b"))


_COMPILED = {lang: _compile(cues) for lang, cues in LANGUAGES.items()}
_CLAUSE_END = re.compile(r"[.,;:!?\n]")
_WORD = re.compile(r"\w+")
_ENGLISH_MARKERS = frozenset("the my i please to and you your is it me want would like this "
                             "can with for".split())


def _fold_char(ch: str) -> str:
    """One character without accents, casefolded (possibly several characters or none)."""
    return "".join(c for c in unicodedata.normalize("NFKD", ch)
                   if not unicodedata.combining(c)).casefold()


_FOLDED: dict[str, str] = {}  # per character seen: _fold_char
_FOLDED_MAX = 20_000  # characters kept; then the memo starts over


def _fold(text: str) -> tuple[str, list[int]]:
    """Accent-free, casefolded text and, for each of its characters, the original index."""
    if text.isascii():  # NFKD leaves ASCII alone and casefold is lower there
        return text.lower(), list(range(len(text)))
    parts = []
    for ch in text:
        base = _FOLDED.get(ch)
        if base is None:
            if len(_FOLDED) >= _FOLDED_MAX:
                _FOLDED.clear()
            base = _FOLDED[ch] = _fold_char(ch)
        parts.append(base)
    folded = "".join(parts)
    if len(folded) == len(text) and all(len(p) == 1 for p in parts):
        return folded, list(range(len(text)))
    return folded, [i for i, p in enumerate(parts) for _ in p]


def _clause_before(folded: str, start: int, words: int) -> str:
    """The last ``words`` words before ``start``, within the same clause."""
    head = _CLAUSE_END.split(folded[:start])[-1]
    return " ".join(_WORD.findall(head)[-words:])


def _clause_after(folded: str, end: int, words: int) -> str:
    """The first ``words`` words after ``end``, within the same clause."""
    tail = _CLAUSE_END.split(folded[end:])[0]
    return " ".join(_WORD.findall(tail)[:words])


def _accepted(m: re.Match[str], compiled: _Compiled, folded: str) -> bool:
    if compiled.negation.search(_clause_before(folded, m.start(), 3)):
        return False
    tail = _WORD.findall(_CLAUSE_END.split(folded[m.end():])[0])
    if tail and (compiled.negation.fullmatch(tail[0])  # "je résilie pas", "ich kündige nicht"
                 or (len(tail) <= _AFTER_WORDS and compiled.negation.fullmatch(tail[-1]))):
        return False  # ... or the clause ends in it: "ich kündige meinen Vertrag nicht"
    if compiled.hedge.search(_clause_before(folded, m.start(), 8)):
        return False
    gap = m.groupdict().get("gap") or ""
    if compiled.excluded.search(gap) or compiled.negation.search(gap):
        return False
    return not compiled.excluded.search(_clause_after(folded, m.end(), _AFTER_WORDS))


def _match(folded: str, compiled: _Compiled) -> tuple[re.Match[str] | None, bool]:
    """The earliest accepted verb-and-noun match (else the earliest accepted phrase), and
    whether any form matched at all (accepted or not)."""
    best: re.Match[str] | None = None
    seen = False
    for i, form in enumerate(compiled.forms):
        if best is not None and i == len(compiled.forms) - 1:
            break  # a verb-and-noun span is the better evidence than a bare phrase
        for m in form.finditer(folded):
            seen = True
            if _accepted(m, compiled, folded):
                if best is None or m.start() < best.start():
                    best = m
                break
    return best, seen


def _looks_english(guess: str, folded: str) -> bool:
    return guess == "en" and any(w in _ENGLISH_MARKERS for w in _WORD.findall(folded))


def detect_leaving_request(text: str) -> LeavingCue | None:
    """The first explicit request to leave in ``text`` in de, es, fr, it, nl or pt, or ``None``
    (no cue, or English text). The language guessed from stop words is tried first; where its
    cues match but are turned down (negation, order, fee question), no other language is
    tried, so a close neighbour (es/pt) cannot overrule it."""
    folded, origin = _fold(text)
    guess = detect_language(text)
    if not folded.strip() or _looks_english(guess, folded):
        return None
    order = sorted(_COMPILED, key=lambda lang: lang != guess)
    for lang in order:
        m, seen = _match(folded, _COMPILED[lang])
        if m is None and seen and lang == guess:
            return None
        if m is not None:
            start, end = origin[m.start()], origin[m.end() - 1] + 1
            return LeavingCue(language=lang, phrase=text[start:end].strip())
    return None
