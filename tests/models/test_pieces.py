"""Long texts read whole: how texts and calls are split into the pieces the model scores
(models.pieces)."""

from __future__ import annotations

from models.pieces import PieceConfig, customer_lines, sentences, split_text, windows
from tests.models.tiny_model import FILLER, LEAVING, SMALL_TALK, call_turns, letter

CFG = PieceConfig()


def test_a_short_text_is_one_piece_itself():
    for text in ("I was charged twice.", "x" * CFG.window, ""):
        assert split_text(text, CFG) == [text]


def test_a_long_text_is_the_whole_text_then_windows_of_whole_sentences():
    text = letter()
    assert len(text) > CFG.window
    cfg = PieceConfig(window=120)
    pieces = split_text(text, cfg)
    assert pieces[0] == text
    parts = pieces[1:]
    assert len(parts) > 1 and all(len(p) <= cfg.window for p in parts)
    # the windows are the sentences in order, each whole and in exactly one window
    assert " ".join(parts) == " ".join(sentences(text)) == text
    for s in sentences(text):
        assert sum(s in p for p in parts) == 1
    # each window is as full as the next sentence allows
    said = sentences(text)
    for a, b in zip(parts, parts[1:], strict=False):
        nxt = next(s for s in said if b.startswith(s))
        assert len(a) + 1 + len(nxt) > cfg.window


def test_sentences_split_at_ends_and_line_breaks():
    assert sentences("It broke. Then it left! Why?\n\nNew line here\u2026 and more") == [
        "It broke.", "Then it left!", "Why?", "New line here\u2026", "and more"]
    assert sentences("  \n ") == []


def test_a_closing_quote_stays_with_its_sentence():
    assert sentences('He said "no." Then (he left.) Fine') == [
        'He said "no."', "Then (he left.)", "Fine"]


def test_a_sentence_longer_than_the_window_is_cut_at_word_boundaries():
    words = [f"w{i}" for i in range(120)]
    out = windows([" ".join(words)], 50)
    assert all(len(w) <= 50 for w in out)
    assert " ".join(out).split() == words


def test_a_transcript_is_read_as_the_customers_lines_only():
    transcript = "\n".join(
        f"Agent: {a}\nCustomer: {c}" for a, c in zip(["Hello, how can I help?",
                                                      "Can I have your number?",
                                                      "One moment please."] * 4,
                                                     list(SMALL_TALK) * 2, strict=True))
    transcript += f"\nCustomer: {LEAVING}"
    said = customer_lines(transcript)
    assert said == list(SMALL_TALK) * 2 + [LEAVING]
    pieces = split_text(transcript, CFG)
    assert pieces[0] == " ".join(said)  # the whole is the customer's side, not the transcript
    assert not any("Agent" in p or "how can I help" in p for p in pieces)
    assert LEAVING in pieces[-1]
    short = "Agent: Hello, how can I help?\nCustomer: I was charged twice."
    assert split_text(short, CFG) == ["I was charged twice."]
    # speaker labels are case-insensitive; "Rep:" and "Caller:" count too
    assert customer_lines("REP: hi\ncaller: my bill is wrong\nrep: sorry") == [
        "my bill is wrong"]


def test_a_chat_export_with_named_speakers_is_read_as_the_customers_lines():
    export = ("[10:02] Sarah (Acme Support): Hi! I'm sorry to hear you want to cancel your "
              "account. Can I ask why?\n"
              "[10:03] John: I don't want to cancel, I want to know why my bill doubled\n"
              "and nobody told me\n"
              "[10:04] Sarah (Acme Support): Let me check that for you.")
    assert customer_lines(export) == [
        "I don't want to cancel, I want to know why my bill doubled and nobody told me"]
    assert split_text(export, CFG)[0].startswith("I don't want to cancel")
    stamped = ("10:02 AM - Acme Bot: Hello!\n10:03 AM - Jane Doe: my parcel is late\n"
               "(2026-12-01 10:04:15) Customer Service: Sorry about that")
    assert customer_lines(stamped) == ["my parcel is late"]
    unstamped = "Support Team: hi\nMark: cancel my plan\nSupport Team: ok, done"
    assert customer_lines(unstamped) == ["cancel my plan"]


def test_a_chat_export_with_a_title_is_an_export():
    """Read as prose, the agent's "sorry to hear you want to cancel your account" spoke for
    the customer who only complained about the app."""
    titled = ("Chat transcript - 12 Dec 2026\n"
              "[10:02] Sarah (Acme Support): Hi John, I'm sorry to hear you want to cancel your "
              "account. Can I offer you 3 months free?\n"
              "[10:03] John Smith: No thanks, the app crashes every day.\n"
              "[10:04] Sarah (Acme Support): I understand.")
    assert customer_lines(titled) == ["No thanks, the app crashes every day."]
    # a title and a time stamp line of metadata: the stamp is no one's words
    meta = ("Conversation with Acme Support\nStarted: 12/12/2026 10:02\n"
            "Sarah (Acme Support): Hi, how can I help?\nJohn: my card was declined again\n"
            "Sarah (Acme Support): Let me check.")
    assert customer_lines(meta) == ["my card was declined again"]
    # three lines before the first speaker, or a sentence: prose
    assert customer_lines("A\nB\nC\n" + titled) is None
    assert customer_lines("I spoke to them today.\n" + titled) is None


def test_an_agent_named_with_the_companys_affiliation_is_an_agent():
    """A bot hands over to "Sam (Acme)": read as the customer's, Sam's "do you want to close
    the account?" was a request to leave (explicit 0.93 on the transformer)."""
    chat = ("John Doe: my card was declined\nAcme Bot: Sorry! Want to talk to an agent?\n"
            "John Doe: yes\nSam (Acme): Hi John, do you want to close the account?\n"
            "John Doe: no, I want to pay my bill")
    assert customer_lines(chat) == ["my card was declined", "yes", "no, I want to pay my bill"]
    assert customer_lines(chat.replace("Sam (Acme)", "Sam from Acme")) == customer_lines(chat)
    # a first name shared with the customer is not an affiliation
    shared = chat.replace("John Doe", "Sam Jones")
    assert customer_lines(shared) == ["my card was declined", "yes", "no, I want to pay my bill"]


def test_a_diarised_call_names_its_agent_by_the_companys_script():
    """Speech-to-text labels speakers "Speaker 1" / "SPEAKER_00": read whole, the agent's
    retention pitch ("Are you looking to cancel your account today?") was the customer's
    request to leave (explicit 0.58 on the transformer) though the customer said no."""
    call = ("Speaker 1: Thank you for calling Northwave, how can I help?\n"
            "Speaker 2: Hi, I'm calling about my bill, it doubled this month.\n"
            "Speaker 1: I'm sorry to hear that. Are you looking to cancel your account today?\n"
            "Speaker 2: Not at all, I just want to know why it went up.")
    assert customer_lines(call) == ["Hi, I'm calling about my bill, it doubled this month.",
                                    "Not at all, I just want to know why it went up."]
    asr = ("SPEAKER_00: thanks for calling how can i help\n"
           "SPEAKER_01: yeah i want to cancel my contract the signal is terrible\n"
           "SPEAKER_00: i'm sorry to hear that")
    assert customer_lines(asr) == ["yeah i want to cancel my contract the signal is terrible"]
    # nobody speaks the script, or everybody does: not told apart, read whole
    assert customer_lines("Speaker 1: hi\nSpeaker 2: my bill is wrong\nSpeaker 1: ok") is None
    assert customer_lines("Speaker 1: how can I help?\nSpeaker 2: how can I help you?\n"
                          "Speaker 1: ok") is None


def test_a_diarised_call_without_the_greeting_names_its_agent_by_other_script():
    """No "thank you for calling": the agent's "I'm sorry to hear that", "Can I take your
    account number?" and "Bear with me" say who speaks for the company."""
    call = ("Speaker 1: Hi, yeah, my broadband keeps dropping every evening.\n"
            "Speaker 2: I'm sorry to hear that. Can I take your account number?\n"
            "Speaker 1: It's 44120. I've had enough honestly.\n"
            "Speaker 2: Bear with me. Would you like to cancel the contract, or shall I book "
            "an engineer?\n"
            "Speaker 1: Book the engineer, I don't want to cancel.")
    assert customer_lines(call) == [
        "Hi, yeah, my broadband keeps dropping every evening.",
        "It's 44120. I've had enough honestly.", "Book the engineer, I don't want to cancel."]


def test_labelled_lines_that_are_not_a_chat_stay_prose():
    # no speaker speaks for the company
    assert customer_lines("Subject: complaint\nFrom: Jane\nTo: Bob\nMy bill is wrong.") is None
    # a review by aspect: no time stamps and nobody speaks twice
    assert customer_lines("Customer service: useless.\nDelivery: late.\nProduct: broken.") \
        is None
    # only the company speaks
    assert customer_lines("[10:02] Acme Support: hi\n[10:05] Acme Support: still there?") is None
    # prose before the first speaker
    assert customer_lines("Hello,\nSupport Team: said no\nMe again: why") is None


def test_text_that_is_not_a_transcript_is_split_as_prose():
    note = "Note: I was charged twice.\nI called twice and nobody answered.\nPlease fix it."
    assert customer_lines(note) is None  # one labelled line is not a transcript
    assert customer_lines("Agent: please hold\nAgent: thanks for waiting") is None  # nobody said
    assert customer_lines("just one line") is None


def test_given_turns_are_the_units_not_the_text():
    turns = [t.text for t in call_turns(60) if t.speaker == "customer"]
    pieces = split_text("ignored: the event's own text", CFG, turns)
    assert pieces[0] == " ".join(turns)
    assert all(len(p) <= CFG.window for p in pieces[1:])
    kept = turns[:CFG.max_pieces // 4] + turns[len(turns) - (CFG.max_pieces - CFG.max_pieces // 4):]
    assert pieces[1:] == kept  # each customer turn is a piece of its own (first quarter + end)
    assert split_text("ignored", CFG, ["short"]) == ["short"]
    assert split_text("ignored", CFG, ["short", "call"]) == ["short call", "short", "call"]


def test_max_pieces_keeps_the_first_quarter_and_the_end():
    text = " ".join(FILLER * 6)
    cfg = PieceConfig(window=60, max_pieces=8)
    every = windows(sentences(text), cfg.window)
    assert len(every) > cfg.max_pieces
    pieces = split_text(text, cfg)
    assert pieces[0] == text and len(pieces) == 1 + cfg.max_pieces
    assert pieces[1:] == every[:2] + every[-6:]  # a letter ends with what the writer wants


def test_piece_config_round_trips():
    cfg = PieceConfig(window=200, max_pieces=6)
    assert PieceConfig(**cfg.to_dict()) == cfg


def test_the_last_customer_turn_of_a_long_call_is_a_piece_of_its_own():
    turns = [t.text for t in call_turns(60) if t.speaker == "customer"]
    assert LEAVING in split_text("", CFG, turns)


def test_the_fast_sentence_split_is_the_regex_split():
    """Without line breaks the gaps are found from the sentence ends; on every string of
    sentence ends, closers, kinds of whitespace and letters it splits as the regex does."""
    import random

    from models.pieces import _SENTENCE_END, _split_sentences

    rng = random.Random(1)
    alphabet = ["a", "b", ".", "!", "?", "…", '"', "'", ")", "]", "(", " ", "\t", "\u00a0",
                "\r", "\u2028"]
    for _ in range(20_000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert _split_sentences(s) == _SENTENCE_END.split(s), repr(s)
    for text in (letter(4), "One. Two!  Three?\tFour… “Five.” (Six.) [Seven.] End",
                 'He said "stop." Then left.) Next'):
        assert _split_sentences(text) == _SENTENCE_END.split(text)
        assert _split_sentences(text + "\nline") == _SENTENCE_END.split(text + "\nline")


def test_customer_lines_without_any_colon_is_not_a_transcript():
    assert customer_lines("Agent - hello\nCustomer - cancel it\nAgent - ok") is None
    assert customer_lines("Agent: hello\nCustomer: cancel it\nAgent: ok") == ["cancel it"]


def test_windows_cover_the_whole_text_unless_some_are_left_out():
    """``split_covered``: when it says the windows cover the whole, the whole's words (split
    at whitespace) are the windows' words in order; it says so for every split text whose
    windows were all kept, and never for a short text or a trimmed one."""
    from models.pieces import split_covered
    from tests.models.long_texts import bench_events, long_texts, odd_texts

    cases = [(t, None) for t in long_texts() + [letter(), " ".join(FILLER * 6), "", "  "]]
    cases += [(e.customer_text, [t.text for t in e.turns if t.speaker == "customer"] or None)
              for e in bench_events() if e.turns]
    cases += [("", [t.text for t in call_turns(n) if t.speaker == "customer"])
              for n in (4, 30, 60)]
    cases += [("", ["a turn", "  ", "another\x0bturn"]), ("", ["x " * 300, "y"])]
    covered = 0
    for cfg in (CFG, PieceConfig(window=60, max_pieces=8)):
        for text, turns in cases:
            pieces, cover = split_covered(text, cfg, turns)
            assert pieces == split_text(text, cfg, turns)
            every = len(pieces) == len(split_text(text, PieceConfig(cfg.window, 10**6), turns))
            if cover:
                covered += 1
                assert len(pieces) > 1 and every
                assert pieces[0].split() == [w for p in pieces[1:] for w in p.split()]
            else:
                assert len(pieces) == 1 or not every or not pieces[1:]
    assert covered > 150
    trimmed = split_covered(" ".join(FILLER * 6), PieceConfig(window=60, max_pieces=8))
    assert len(trimmed[0]) == 9 and not trimmed[1]
    assert not split_covered("I was charged twice.", CFG)[1]
    assert split_covered(odd_texts()[0], CFG)[1]


def test_plain_drops_links_and_handles_and_reads_hashtags_as_words():
    from models.pieces import plain

    assert plain("@SkyAir @SkyAirHelp lost my bag AGAIN https://t.co/Ab12 #NeverAgain #fail") \
        == "  lost my bag AGAIN  Never Again fail"
    assert plain("see www.example.com/status, thanks @Delta for nothing") \
        == "see  thanks  for nothing"
    # e-mail addresses, numbers after '#', and text without markup stay as written
    for kept in ("mail me at jo@example.com", "invoice #00108 is wrong", "bill #12 #3",
                 "I was charged twice.", ""):
        assert plain(kept) == kept
    assert plain("https://t.co/x @x").strip() == ""  # nothing but markup: empty, like ""
    # a retweet's "RT" goes with the handle it quotes; the quoted words stay
    assert plain("RT @bob: @acme https://t.co/x").split() == [":"]
    assert plain("RT @bob: lost my bag again").split() == [":", "lost", "my", "bag", "again"]
    assert plain("the RT model @home") == "the RT model "  # not before a handle: a word


def test_plain_changes_stay_inside_words_so_windows_still_cover_the_whole():
    """What the model reads of a long text is its windows' plain words in order, so an
    encoder may still build the whole from its windows (models.encoders.encode_pieces)."""
    from models.pieces import plain, split_covered
    from tests.models.long_texts import odd_long

    text = odd_long()["social markup"]
    for cfg in (CFG, PieceConfig(window=120)):
        pieces, covered = split_covered(text, cfg)
        assert covered
        assert plain(pieces[0]).split() == [w for p in pieces[1:] for w in plain(p).split()]
    assert any(not plain(p).strip() for p in split_covered(text, CFG)[0][1:])
