"""An HTML e-mail body read as the text a person sees.

Mail and ticketing integrations often pass the HTML part of an e-mail. Read as it is, the
models saw tags ("<html><body><p>Please <b>cancel</b> my account ..." read product friction and
sentiment -0.96 on the static path) and an alert quoted the markup. :func:`visible_text`
keeps the words a mail client shows: tags dropped, block elements as line breaks, entities
decoded, scripts, styles and quoted history (``<blockquote>``) left out, so the reply rules
of :mod:`detector.replies` then see the new message's lines. Text without HTML tags is
returned as it is.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# a tag a mail client writes (opening or closing); "3 < 4" or "<3" is not one
_TAG = re.compile(r"</?(?:html|body|head|p|div|br|span|b|i|u|strong|em|table|tbody|tr|td|th|"
                  r"ul|ol|li|a|font|blockquote|h[1-6]|hr|img|center|pre|style|script|meta)"
                  r"\b[^<>]{0,400}>", re.IGNORECASE)
_BLOCK = frozenset({"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5",
                    "h6", "hr", "ul", "ol", "pre", "center", "blockquote"})
_HIDDEN = frozenset({"script", "style", "head", "title", "blockquote"})
_SPACES = re.compile(r"[ \t\u00a0]+")


class _Visible(HTMLParser):
    def __init__(self, quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # depth inside elements whose content is not shown
        self.skip = _HIDDEN - {"blockquote"} if quotes else _HIDDEN

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.skip:
            self.hidden += 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.skip and self.hidden:
            self.hidden -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def looks_like_html(text: str) -> bool:
    return "<" in text and _TAG.search(text) is not None


def _shown(text: str, quotes: bool) -> str:
    parser = _Visible(quotes)
    parser.feed(text)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def visible_text(text: str) -> str:
    """What a mail client shows of ``text`` when it holds HTML tags, without quoted history
    (with it, when nothing else is left: a forward); else ``text``. ``text`` itself when
    nothing visible is left at all (all script)."""
    if not looks_like_html(text):
        return text
    return _shown(text, quotes=False) or _shown(text, quotes=True) or text
