"""Long texts that are split into windows (models.pieces): the seed set's letters and calls,
the bench generator's mix (calls with turns, letters, repeats) and made-up texts that take
every odd branch (every kind of whitespace between sentences and between words, long words,
a text longer than the static model reads, more windows than are kept)."""

from __future__ import annotations

from detector.schema import Event
from tests.models.tiny_model import COMPLAINT, FILLER, LEAVING

# Python's whitespace that is not plain space: BERT's normaliser drops some of these
ODD_GAPS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2009\u200a\u2028\u2029\u202f\u3000"


def seed_long() -> list[str]:
    """The seed set's texts longer than a window (letters, e-mails, calls)."""
    from models.datasets import load_seed

    return [row.text for row in load_seed() if len(row.text) > 400]


def bench_events(n: int = 160, seed: int = 8) -> list[Event]:
    """Events of the bench mix (about one in three split; calls carry turns)."""
    from bench.ceilings import parse_all
    from bench.generator import EventMix, MixConfig

    return parse_all(EventMix(MixConfig(customers=200, seed=seed)).events(n))


def odd_long() -> dict[str, str]:
    """Long texts that take the odd branches, by what is odd about them."""
    body = list(FILLER) + [COMPLAINT, LEAVING]
    return {
        "whitespace runs": "  \n " + "   ".join(body) + "  \t ",  # at the ends too
        "windows left out": " ".join(body * 12),  # more windows than max_pieces
        "over 512 tokens": " ".join(body * 5),  # under the character cut
        "over the cut": " ".join(body * 9),  # over 3,072 characters
        "unknown words past the cut": ". ".join(["x" * 150] * 30),  # few tokens, many chars
        # few tokens before a long run of spaces: the cut falls in it, before token 512
        "cut in whitespace": " ".join(body * 2) + " " * 2000 + " ".join(body * 2),
        "few tokens, cut in whitespace": ("word " * 20).strip() + "." + " " * 3200 + LEAVING,
        "other scripts": "Ünïcödé çafé naïve résumé. ΣΟΦΟΣ ΛΟΓΟΣ. 日本語のテキスト 中文. " * 9,
        "one long word": "a" * 900,  # its only window is itself
        "emoji": "emoji 🙂🙂 cancel 🙂 account. " * 30,
        # handles, links and hashtags (models.pieces.plain), a window of nothing but links
        "social markup": "@ShopCo @ShopCoHelp " + " ".join(body) + " #NeverAgain #fail "
        + " ".join(["https://t.co/" + "a" * 30] * 20) + " www.shopco.example @ShopCo",
    }


def odd_texts() -> list[str]:
    """Long texts with odd whitespace, odd words and odd lengths."""
    body = list(FILLER) + [COMPLAINT, LEAVING]
    out = []
    for gap in ODD_GAPS:  # between sentences, then between the words of one long sentence
        out.append(gap.join(body))
        out.append(" ".join(body) + " " + gap.join(" ".join(body).replace(".", "").split()))
    return out + list(odd_long().values())


def long_texts() -> list[str]:
    """All of the above, as plain texts (the bench calls' customer side)."""
    return seed_long() + [e.customer_text for e in bench_events()] + odd_texts()
