//! Names nobody registered: honorifics and context words, capitalized tokens in name positions,
//! "Last, First" lists, initials with a surname — while leaving medical eponyms and (by
//! configuration) staff names after "Dr." untouched.

use super::eponyms::{flag, Lexicon};
use super::{prio, Output};
use crate::text::{at_clause_start, Word};
use crate::{PhiType, RedactorConfig};

static JARGON: &str = include_str!("../../data/or_jargon.txt");
static HONORIFICS: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "mister",
    "missus",
    "madam",
    "sr",
    "sra",
    "srta",
    "señor",
    "senor",
    "señora",
    "senora",
    "herr",
    "frau",
    "mme",
    "mlle",
    "monsieur",
    "madame",
    "sig",
    "sig.ra",
    "doña",
    "dona",
    "don",
    "dom",
    "ato",
    "woizero",
    "mevr",
    "mevrouw",
    "dhr",
    "meneer",
    "smt",
    "shri",
    "shrimati",
    "encik",
    "señorita",
    "senorita",
    "signora",
    "signor",
];
static STAFF: &[&str] = &[
    "dr",
    "doctor",
    "prof",
    "professor",
    "dra",
    "nurse",
    "rn",
    "crna",
    "np",
    "anesthesiologist",
    "anaesthetist",
    "surgeon",
    "resident",
    "fellow",
    "attending",
    "scrub",
    "tech",
    "pa",
];
static RELATIONS: &[&str] = &[
    "wife",
    "husband",
    "son",
    "daughter",
    "sister",
    "brother",
    "mother",
    "father",
    "mom",
    "mum",
    "dad",
    "aunt",
    "uncle",
    "niece",
    "nephew",
    "cousin",
    "grandson",
    "granddaughter",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "granny",
    "grandchild",
    "partner",
    "spouse",
    "fiance",
    "fiancee",
    "boyfriend",
    "girlfriend",
    "friend",
    "neighbor",
    "neighbour",
    "guardian",
    "guarantor",
    "caregiver",
    "stepson",
    "stepdaughter",
    "stepmother",
    "stepfather",
    "sibling",
    "child",
    "twin",
    "relative",
    "roommate",
    "landlord",
    "employer",
    "sponsor",
    "proxy",
    "poa",
    "visitor",
    "kin",
    "nok",
    "caller",
    "companion",
    "escort",
    "representative",
    "great-grandson",
    "great-granddaughter",
    "brother-in-law",
    "sister-in-law",
    "mother-in-law",
    "father-in-law",
    "son-in-law",
    "daughter-in-law",
    "ex-wife",
    "ex-husband",
    "widow",
    "widower",
];
/// Patient or contact words: the capitalized words right after them are a name.
static PATIENT: &[&str] = &[
    "pt",
    "patient",
    "name",
    "re",
    "matches",
    "named",
    "called",
    "aka",
    "call",
    "contact",
    "visitor",
    "family",
    "signed",
    "for",
    "on",
    "from",
    "with",
    "and",
    "to",
    "msg",
    "update",
    "reach",
    "tell",
    "ask",
    "told",
    "asked",
    "about",
    "of",
    "per",
    "prefers",
    "sees",
    "thank",
    "thanks",
    "donor",
    "recipient",
    "baby",
    "twin",
    "infant",
    "newborn",
    "neonate",
    "says",
    "spelled",
    "spell",
];
/// Strong subset of PATIENT: name even if the word is ambiguous or unknown.
static PATIENT_STRONG: &[&str] =
    &["pt", "patient", "name", "re", "matches", "named", "called", "aka", "visitor", "signed", "donor", "recipient"];
static PARTICLES: &[&str] = &[
    "da", "de", "del", "della", "di", "du", "van", "von", "der", "den", "le", "la", "bin", "ibn", "al", "el", "dos",
    "das", "do", "y", "ben", "bint", "ter", "ten", "st", "o", "ni", "nic", "mac", "ua", "ap",
];
/// Never part of a name, whatever the dictionary says.
static FUNCTION_WORDS: &[&str] = &[
    "the", "a", "an", "and", "or", "of", "in", "on", "at", "to", "for", "with", "is", "was", "this", "that", "it",
    "we", "he", "she", "they", "you", "i", "be", "are", "were", "as", "by", "from", "but", "if", "so", "not", "no",
    "yes", "ok", "all", "any", "our", "his", "her", "their",
];
/// US state codes: "Vallejo, LA" is a place.
static STATE_CODES: &[&str] = &[
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in", "ia", "ks", "ky", "la",
    "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or",
    "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy", "pr",
];
static ARTICLES: &[&str] = &["the", "a", "an", "this", "his", "her", "their", "our", "its"];
static POST_VERBS: &[&str] = &[
    "went",
    "got",
    "can",
    "could",
    "should",
    "would",
    "did",
    "does",
    "gave",
    "prefers",
    "requested",
    "left",
    "arrives",
    "called",
    "texted",
    "phoned",
    "emailed",
    "wrote",
    "brought",
    "knew",
    "says",
    "said",
    "asked",
    "asks",
    "is",
    "was",
    "has",
    "had",
    "lives",
    "lived",
    "came",
    "wants",
    "wanted",
    "just",
    "called",
    "will",
    "knows",
    "needs",
    "arrived",
    "turned",
    "signed",
    "agreed",
    "consented",
    "declined",
    "refused",
    "reports",
    "reported",
    "denies",
    "states",
    "stated",
    "awake",
    "asleep",
    "extubated",
    "intubated",
    "tolerated",
    "tolerating",
    "updated",
    "thanked",
    "asking",
    "resting",
    "comfortable",
    "sedated",
    "works",
    "drove",
    "flew",
    "calls",
    "spelled",
    "prefers",
    "thinks",
    "speaks",
    "understands",
    "wakes",
    "woke",
    "remembers",
    "laughs",
    "cried",
    "smiled",
    "back",
    "doing",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cls {
    /// dictionary name, not a common word or eponym
    D,
    /// ambiguous: dictionary name that is also a common word or an eponym
    A,
    /// eponym / brand, not a name
    E,
    /// unknown capitalized word
    U,
    /// initial ("J.")
    I,
    /// particle ("da", "van")
    P,
    /// anything else: common lowercase or non-name word
    C,
}

#[derive(Debug)]
pub struct Names {
    lex: Lexicon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    None,
    Honorific,
    Staff,
    Strong,
    Weak,
}

impl Names {
    pub fn new() -> Names {
        let mut lex = Lexicon::new();
        lex.add(HONORIFICS.iter().copied(), flag::HONORIFIC);
        lex.add(STAFF.iter().copied(), flag::STAFF);
        lex.add(RELATIONS.iter().copied(), flag::RELATION);
        lex.add(PATIENT.iter().copied(), flag::PATIENT);
        lex.add(PATIENT_STRONG.iter().copied(), flag::PATIENT_STRONG);
        lex.add(PARTICLES.iter().copied(), flag::PARTICLE);
        lex.add(FUNCTION_WORDS.iter().copied(), flag::FUNCTION_WORD);
        lex.add(STATE_CODES.iter().copied(), flag::STATE_CODE);
        lex.add(ARTICLES.iter().copied(), flag::ARTICLE);
        lex.add(POST_VERBS.iter().copied(), flag::POST_VERB);
        lex.add(
            JARGON.lines().filter(|l| !l.trim_start().starts_with('#')).flat_map(str::split_whitespace),
            flag::JARGON,
        );
        Names { lex }
    }

    /// Sets each word's dictionary flags (one lookup per word, shared by every detector).
    pub fn annotate(&self, words: &mut [Word<'_>]) {
        let g = crate::gazetteer::get();
        for w in words {
            let mut fl = self.lex.flags(w.folded);
            // the gazetteers are bisected only for capitalized words (a few per message)
            if w.cap && w.nchars >= 2 && fl & (flag::FUNCTION_WORD | flag::HONORIFIC | flag::STAFF) == 0 {
                let gz = g.lookup(w.folded);
                if gz & crate::gazetteer::bit::ENGLISH != 0 {
                    fl |= flag::ENGLISH;
                }
                if fl & flag::NAME == 0 && w.nchars >= 3 && gz & crate::gazetteer::bit::NAME != 0 {
                    fl |= flag::WORLD_NAME;
                }
                if gz & crate::gazetteer::bit::PLACE != 0 {
                    fl |= flag::PLACE;
                }
                if gz & crate::gazetteer::bit::REGION != 0 {
                    fl |= flag::REGION;
                }
                let known = fl & (flag::ENGLISH | flag::COMMON | flag::EPONYM | flag::NAME) != 0;
                if !known && (super::shape::drug_like(w.folded) || super::shape::clinical_like(w.folded)) {
                    fl |= flag::JARGON;
                }
            }
            w.flags = fl;
        }
    }

    /// A token worth remembering for the session: a name-like word no lexicon knows as ordinary.
    pub fn learnable(&self, w: &Word<'_>) -> bool {
        w.nchars >= 4
            && w.cap
            && !(w.allcaps && w.nchars <= 4)
            && w.flags & (flag::PLACE | flag::REGION) == 0
            && w.folded.chars().all(|c| c.is_alphabetic() || c == '-' || c == '\'')
            && w.flags
                & (flag::COMMON
                    | flag::EPONYM
                    | flag::FUNCTION_WORD
                    | flag::HONORIFIC
                    | flag::STAFF
                    | flag::RELATION
                    | flag::PARTICLE
                    | flag::JARGON
                    | flag::STATE_CODE)
                == 0
            && !self.is_ordinary(w)
    }

    /// Remembered names of the session ("Tsiala", any case) and initials of remembered
    /// multi-word names used as a name ("EK extubated").
    pub fn recall(&self, text: &str, words: &[Word<'_>], memory: &crate::SessionMemory, out: &mut Output) {
        for (i, w) in words.iter().enumerate() {
            // "Kinue-san": the name without the honorific suffix
            let (stem, stem_len) = match ["-san", "-sama", "-chan", "-kun", "-sensei"]
                .iter()
                .find_map(|x| w.folded.strip_suffix(x).map(|st| (st, w.text.len() - x.len())))
            {
                Some((st, l)) => (st, l),
                None => (w.folded, w.end - w.start),
            };
            let halves = stem.contains('-') && stem.split('-').any(|h| memory.names.iter().any(|n| n == h));
            if memory.names.iter().any(|n| n == stem) || halves {
                if !self.followed_by_medical(text, words, i + 1) {
                    out.push(PhiType::Name, w.start, w.start + stem_len, prio::NAME);
                }
                continue;
            }
            if w.allcaps
                && (2..=4).contains(&w.nchars)
                && w.flags & (flag::COMMON | flag::JARGON) == 0
                && memory.initials.iter().any(|n| n == w.text)
                && initials_used_as_name(text, words, i)
            {
                out.push(PhiType::Name, w.start, w.end, prio::NAME);
            }
        }
    }

    /// The word before `a` (skipping "him", "her", "to", "for") speaks to or of a person: "tell",
    /// "ask", "update", "sees", "per", "thanks"…
    fn person_cue_before(&self, words: &[Word<'_>], a: usize) -> bool {
        let mut k = a;
        while k > 0 {
            let f = words[k - 1].folded;
            if matches!(f, "him" | "her" | "them" | "to" | "for" | "with" | "on") && k + 2 > a {
                k -= 1;
                continue;
            }
            return matches!(
                f,
                "tell"
                    | "told"
                    | "ask"
                    | "asked"
                    | "update"
                    | "updated"
                    | "reach"
                    | "call"
                    | "called"
                    | "thank"
                    | "thanks"
                    | "sees"
                    | "saw"
                    | "visit"
                    | "visiting"
                    | "prefers"
                    | "per"
                    | "msg"
                    | "contact"
                    | "family"
                    | "says"
                    | "spelled"
                    | "spell"
                    | "about"
                    | "check"
                    | "plan"
                    | "consent"
                    | "name"
                    | "waiting"
                    | "sent"
                    | "text"
                    | "texted"
                    | "phone"
                    | "phoned"
            );
        }
        false
    }

    /// "… extubated", "… asleep", "… to PACU", "… back to the ward": what is said of a patient.
    fn person_state_after(&self, text: &str, words: &[Word<'_>], i: usize) -> bool {
        let (Some(nx), w) = (words.get(i + 1), &words[i]) else {
            return false;
        };
        if gap(text, w, nx) != " " {
            return false;
        }
        let state = matches!(
            nx.folded,
            "extubated"
                | "intubated"
                | "asleep"
                | "awake"
                | "tolerated"
                | "tolerating"
                | "sedated"
                | "stable"
                | "comfortable"
                | "transferred"
                | "moved"
                | "going"
                | "off"
                | "out"
        );
        let sent = matches!(nx.folded, "to" | "back") && {
            let to = if nx.folded == "back" {
                words.get(i + 2).filter(|t| t.folded == "to").map(|_| i + 3)
            } else {
                Some(i + 2)
            };
            to.and_then(|k| words.get(k)).is_some_and(|u| is_care_unit(u.folded))
        };
        state || sent
    }

    /// True if a lowercase word is an ordinary English or OR word (looked up on demand).
    fn is_ordinary(&self, w: &Word<'_>) -> bool {
        w.flags & (flag::ENGLISH | flag::JARGON | flag::COMMON | flag::FUNCTION_WORD) != 0
            || crate::gazetteer::get().is_english(w.folded)
            || super::shape::drug_like(w.folded)
            || super::shape::clinical_like(w.folded)
    }

    fn has(&self, bit: u32, w: &Word<'_>) -> bool {
        w.flags & bit != 0
    }

    fn classify(&self, w: &Word<'_>, fl: u32, next_is_cap: bool) -> Cls {
        let f = w.folded;
        if w.initial && w.cap {
            return Cls::I;
        }
        if !w.cap {
            if next_is_cap && fl & flag::PARTICLE != 0 {
                return Cls::P;
            }
            // "al-Khuwaytir", "bin-Laden", "el-Amin": a lowercase particle glued to a name
            if particle_prefixed(w.text) {
                return Cls::U;
            }
            return Cls::C;
        }
        if next_is_cap && fl & flag::PARTICLE != 0 {
            return Cls::P;
        }
        let letters = w.nchars;
        // "Zero-degree", "Roux-en-Y": a hyphenated word with a lowercase part is not a name
        // (a Japanese honorific suffix is: "Kinue-san")
        let jp_suffix = ["-san", "-sama", "-chan", "-kun", "-sensei"].iter().any(|x| f.ends_with(x));
        if !jp_suffix
            && w.text.contains('-')
            && w.text.split('-').skip(1).any(|p| p.starts_with(|c: char| c.is_lowercase()))
        {
            return Cls::C;
        }
        if fl & (flag::HONORIFIC | flag::STAFF | flag::RELATION | flag::FUNCTION_WORD | flag::PATIENT_STRONG) != 0 {
            return Cls::C;
        }
        if letters < 2 {
            return Cls::C;
        }
        // OR jargon, drugs and regions ("NICU", "Ireland") are no names, whatever a name list says
        let listed_here = fl & flag::NAME != 0;
        if fl & flag::JARGON != 0 && (!listed_here || w.allcaps) || fl & flag::REGION != 0 {
            return Cls::C;
        }
        let hyphen = f.contains('-');
        let listed = fl & flag::NAME != 0 || (hyphen && self.lex.is_name(f));
        // a world-list name that the common-word list holds ("Adm", "Jan") stays a common word
        let name = listed || (fl & flag::WORLD_NAME != 0 && fl & flag::COMMON == 0);
        let epo = fl & flag::EPONYM != 0 || (hyphen && self.lex.is_eponym(f));
        // OR jargon and drugs are never names by shape; ordinary English words only with context
        let common = fl & (flag::COMMON | flag::JARGON) != 0 || (!listed && fl & flag::ENGLISH != 0);
        if w.allcaps && ((!name && !epo && letters <= 5) || (!listed && letters <= 3)) {
            // "FOOSH", "PACU", "AUB": short capitals unknown to every list are abbreviations
            return Cls::C;
        }
        if w.allcaps && letters < 3 {
            let ok = name && !common && fl & flag::STATE_CODE == 0;
            return if ok { Cls::A } else { Cls::C };
        }
        if w.allcaps && common {
            return if name { Cls::A } else { Cls::C };
        }
        match (name, common, epo) {
            (true, false, false) => Cls::D,
            (true, _, _) => Cls::A,
            (false, true, _) => Cls::C,
            (false, false, true) => Cls::E,
            (false, false, false) => Cls::U,
        }
    }

    pub fn detect(&self, text: &str, words: &[Word<'_>], config: RedactorConfig, out: &mut Output) {
        let n = words.len();
        if n == 0 {
            return;
        }
        let mut cls = Vec::with_capacity(n);
        for i in 0..n {
            // a particle chain before a capitalized word: "van der Sluijs", "de la Huerta"
            let next_cap = words
                .get(i + 1)
                .is_some_and(|w| w.cap || (w.flags & flag::PARTICLE != 0 && words.get(i + 2).is_some_and(|w2| w2.cap)));
            cls.push(self.classify(&words[i], words[i].flags, next_cap));
        }
        // names spelled letter by letter ("K-A-V-I")
        for w in words {
            if w.nchars >= 7 && super::shape::spelled_out(w.text) {
                out.push(PhiType::Name, w.start, w.end, prio::NAME);
            }
        }
        // initials standing for the patient at the start of a clause: "ZMQ extubated", "KT to
        // recovery", "HTK to PACU" (registered or remembered initials match anywhere)
        for i in 0..n {
            let w = &words[i];
            if w.allcaps
                && (2..=3).contains(&w.nchars)
                && w.flags & (flag::COMMON | flag::JARGON | flag::FUNCTION_WORD | flag::PATIENT | flag::STAFF) == 0
                // two capitals in the English table are abbreviations like "nd", not words
                && (w.nchars == 2 || w.flags & flag::ENGLISH == 0)
                && (at_clause_start(text, w.start) || crate::text::prev_char(text, w.start) == Some(','))
                && self.person_state_after(text, words, i)
            {
                out.push(PhiType::Name, w.start, w.end, prio::NAME);
            }
        }
        // multi-word eponyms and institutions ("Ivor Lewis", "Johns Hopkins", "Grey Turner")
        for i in 0..n.saturating_sub(1) {
            let (w, nx) = (&words[i], &words[i + 1]);
            if cls[i] != Cls::C && self.lex.is_eponym_phrase_flagged(w.folded, w.flags, nx.folded, nx.flags) {
                cls[i] = Cls::E;
                cls[i + 1] = Cls::E;
            }
        }
        // a capitalized common word right after "guarantor", "Mr"… is a name ("Will")
        for i in 0..n {
            let is_role = self.has(flag::HONORIFIC | flag::STAFF | flag::RELATION | flag::PATIENT, &words[i]);
            if cls[i] == Cls::C && words[i].cap && !words[i].allcaps && words[i].nchars >= 2 && !is_role {
                let t = self.trigger(text, words, i);
                let owns_relative = words[i].possessive
                    && words.get(i + 1).is_some_and(|nx| self.has(flag::RELATION, nx))
                    && words[i].flags & flag::JARGON == 0;
                if t == Trigger::Strong || t == Trigger::Honorific || owns_relative {
                    cls[i] = Cls::U;
                }
            }
        }
        // runs of name-like words joined by spaces (or "J." / "J.Gao")
        let mut runs: Vec<(usize, usize)> = Vec::with_capacity(8);
        let mut i = 0;
        while i < n {
            // a run may open with a capitalized particle ("De Souza", "Ó Súilleabháin")
            let opens = cls[i] != Cls::C && (cls[i] != Cls::P || words[i].cap);
            if !opens {
                i += 1;
                continue;
            }
            let start = i;
            let mut end = i + 1;
            while end < n && cls[end] != Cls::C && self.joinable(text, &words[end - 1], &words[end], cls[end - 1]) {
                end += 1;
                if words[end - 1].possessive {
                    break;
                }
            }
            // trailing particles are not part of a name
            while end > start + 1 && cls[end - 1] == Cls::P {
                end -= 1;
            }
            runs.push((start, end));
            i = end;
        }
        let mut accepted = vec![false; runs.len()];
        for (ri, &(a, b)) in runs.iter().enumerate() {
            let trig = self.trigger(text, words, a);
            if trig == Trigger::Staff {
                let end = (a + 2).min(b);
                let (s, e) = (words[a].start, words[end - 1].end);
                if config.keep_staff_names {
                    out.protected.push((s, e));
                } else {
                    out.push(PhiType::Name, s, e, prio::NAME);
                }
                continue;
            }
            if self.accept(text, words, &cls, a, b, trig) {
                accepted[ri] = true;
                // "Ámde Niillas Bongo, 45M": a word the lexicons know, between an accepted name
                // and the age of a case header, is the end of the name
                let mut end = b;
                if let Some(nx) = words.get(b) {
                    if nx.cap
                        && !nx.allcaps
                        && gap(text, &words[b - 1], nx) == " "
                        && nx.flags & (flag::JARGON | flag::MEDICAL_NOUN | flag::FUNCTION_WORD | flag::EPONYM) == 0
                        && self.post_context(text, words, b + 1)
                    {
                        end = b + 1;
                    }
                }
                out.push(PhiType::Name, words[a].start, without_jp_suffix(&words[end - 1]), prio::NAME);
            }
            // lowercase names right after "Patient:" / "pt"
            if trig == Trigger::Strong || trig == Trigger::Honorific {
                // handled by accept
            }
        }
        // name lists: "Harold and Maude Finch", "Rosa, Miguel and Carmen"
        for ri in (0..runs.len()).rev() {
            if accepted[ri] || ri + 1 >= runs.len() || !accepted[ri + 1] {
                continue;
            }
            let (a, b) = runs[ri];
            let (a2, _) = runs[ri + 1];
            let namey = cls[a..b].iter().all(|c| matches!(c, Cls::D | Cls::A | Cls::U | Cls::P | Cls::I));
            if !namey || !cls[a..b].contains(&Cls::D) {
                continue;
            }
            let between = text.get(words[b - 1].full_end..words[a2].start).unwrap_or("");
            let t = between.trim();
            if matches!(t, "," | "&" | "and" | "or" | ", and" | "y" | "et" | "und") {
                accepted[ri] = true;
                out.push(PhiType::Name, words[a].start, words[b - 1].end, prio::NAME);
            }
        }
        // lowercase names after a strong trigger ("Patient: iseoluwa owolabi")
        for i in 1..n {
            if words[i].cap {
                continue;
            }
            // "mrs farahzadi", "ms kamitsubo": after a lowercase honorific any word that is not
            // ordinary English or OR vocabulary
            if words[i].flags & flag::NAME == 0
                && words[i].nchars >= 3
                && words[i - 1].flags & flag::HONORIFIC != 0
                && self.trigger(text, words, i) == Trigger::Honorific
                && !self.is_ordinary(&words[i])
            {
                out.push(PhiType::Name, words[i].start, words[i].end, prio::NAME);
                continue;
            }
            if words[i].flags & flag::NAME == 0 || words[i].flags & flag::COMMON != 0 {
                continue;
            }
            let t = self.trigger(text, words, i);
            if t == Trigger::Honorific {
                out.push(PhiType::Name, words[i].start, words[i].end, prio::NAME);
                continue;
            }
            if t != Trigger::Strong {
                continue;
            }
            let mut j = i;
            while j < n
                && j < i + 3
                && !words[j].cap
                && self.lex.is_name_flagged(words[j].folded, words[j].flags)
                && words[j].flags & flag::COMMON == 0
                && (j == i || gap(text, &words[j - 1], &words[j]).trim().is_empty())
            {
                j += 1;
            }
            // one lowercase name right after a relative ("grandson kieran says"); a run of two
            // or more after any strong word ("pt name is marta kowalczyk")
            let after_relation = j == i + 1
                && self.has(flag::RELATION, &words[i - 1])
                && !words[i - 1].cap
                && gap(text, &words[i - 1], &words[i]).chars().all(|c| c == ' ')
                && self.ends_clause_or_verb(text, words, i)
                && !self.is_ordinary(&words[i]);
            if j > i + 1 || (j == i + 1 && after_relation) {
                out.push(PhiType::Name, words[i].start, words[j - 1].end, prio::NAME);
            }
        }
        // "Last, First"
        for ri in 0..runs.len().saturating_sub(1) {
            let (a1, b1) = runs[ri];
            let (a2, b2) = runs[ri + 1];
            if b1 != a2 || b1 - a1 > 3 || b2 - a2 > 3 {
                continue;
            }
            let g = gap(text, &words[b1 - 1], &words[a2]);
            if g.trim() != "," || words[b1 - 1].possessive {
                continue;
            }
            let substantial = |a: usize, b: usize| {
                words[a..b].iter().any(|w| w.nchars >= 3 || (w.cap && !w.allcaps && w.nchars >= 2))
            };
            if !substantial(a1, b1) || !substantial(a2, b2) {
                continue;
            }
            let toks: Vec<Cls> = cls[a1..b1].iter().chain(cls[a2..b2].iter()).copied().collect();
            // "lap Nissen, Líadan …": an eponym beside an accepted name is the procedure
            let epo_side = |a: usize, b: usize| words[a..b].iter().any(|w| w.flags & flag::EPONYM != 0 && !w.allcaps);
            if (accepted[ri + 1] && !accepted[ri] && epo_side(a1, b1))
                || (accepted[ri] && !accepted[ri + 1] && epo_side(a2, b2))
            {
                continue;
            }
            let some_name = toks.contains(&Cls::D);
            let all_namey = toks.iter().all(|c| matches!(c, Cls::D | Cls::A | Cls::U | Cls::I | Cls::P));
            let caps_pair = words[a1].allcaps && words[a2].allcaps;
            let followed_med = self.followed_by_medical(text, words, b2);
            let caps_named = caps_pair && toks.iter().any(|c| matches!(c, Cls::U | Cls::A | Cls::D));
            if all_namey && (accepted[ri] || accepted[ri + 1] || some_name || caps_named) && !followed_med {
                out.push(PhiType::Name, words[a1].start, words[b2 - 1].end, prio::NAME);
            }
        }
    }

    /// Word `i` is followed by punctuation, the end, or a verb that follows a person ("says").
    fn ends_clause_or_verb(&self, text: &str, words: &[Word<'_>], i: usize) -> bool {
        let rest = text.get(words[i].full_end..).unwrap_or("");
        let t = rest.trim_start();
        if t.is_empty() || t.starts_with([',', ';', '.', ')', ':', '-', '—', '/', '|']) {
            return true;
        }
        words.get(i + 1).is_some_and(|nx| self.has(flag::POST_VERB, nx) && rest.starts_with(' '))
    }

    /// Context word right before word `a` (skipping "ID", "is", ":" …).
    fn trigger(&self, text: &str, words: &[Word<'_>], a: usize) -> Trigger {
        let mut k = a;
        let mut skipped = 0;
        while k > 0 {
            let prev = &words[k - 1];
            let g = gap(text, prev, &words[k]);
            // the trigger must be close: spaces, '.', ':' or '-' only
            if g.len() > 3 || g.chars().any(|c| !matches!(c, ' ' | '.' | ':' | '\t' | '(' | ',')) {
                return Trigger::None;
            }
            let f = prev.folded;
            let fl = prev.flags;
            if g.contains(',') && fl & flag::RELATION == 0 {
                return Trigger::None;
            }
            if fl & flag::HONORIFIC != 0 && skipped == 0 {
                return Trigger::Honorific;
            }
            if fl & flag::STAFF != 0 && skipped == 0 {
                return Trigger::Staff;
            }
            if fl & (flag::RELATION | flag::PATIENT_STRONG) != 0 {
                return Trigger::Strong;
            }
            if f == "by" && k >= 2 && matches!(words[k - 2].folded, "signed" | "consented" | "consent" | "witnessed") {
                return Trigger::Strong;
            }
            // "twin A Chimsimdi", "baby B Okafor"
            if prev.nchars == 1
                && prev.cap
                && k >= 2
                && matches!(words[k - 2].folded, "twin" | "baby" | "triplet" | "infant" | "newborn")
                && skipped == 0
            {
                return Trigger::Strong;
            }
            // stated nicknames: "call him Winne", "calls himself Prodro", "calls her Haingo"
            if matches!(f, "him" | "her" | "himself" | "herself" | "me" | "them")
                && k >= 2
                && matches!(words[k - 2].folded, "call" | "calls" | "called" | "calling")
                && skipped == 0
            {
                return Trigger::Strong;
            }
            // nicknames and preferred names: "goes by Bunny", "known as Teddy"
            if (f == "by" && k >= 2 && matches!(words[k - 2].folded, "goes" | "go" | "going" | "went"))
                || (f == "as" && k >= 2 && matches!(words[k - 2].folded, "known" | "addressed"))
            {
                return Trigger::Strong;
            }
            if fl & flag::PATIENT != 0 {
                return Trigger::Weak;
            }
            if skipped < 1 && matches!(f, "id" | "is" | "name" | "by" | "today" | "named") {
                skipped += 1;
                k -= 1;
                continue;
            }
            return Trigger::None;
        }
        Trigger::None
    }

    fn followed_by_medical(&self, text: &str, words: &[Word<'_>], b: usize) -> bool {
        let Some(next) = words.get(b) else {
            return false;
        };
        let g = gap(text, &words[b - 1], next);
        if !g.trim().is_empty() && g.trim() != "-" {
            return false;
        }
        Lexicon::is_medical_noun_flagged(next.folded, next.flags)
            || next.folded.strip_suffix('s').is_some_and(|one| self.lex.flags(one) & flag::MEDICAL_NOUN != 0)
    }

    fn accept(&self, text: &str, words: &[Word<'_>], cls: &[Cls], a: usize, b: usize, trig: Trigger) -> bool {
        let run = &cls[a..b];
        let len = b - a;
        let last = &words[b - 1];
        if trig == Trigger::Honorific {
            return true;
        }
        let med = self.followed_by_medical(text, words, b);
        let org = words[a..b].iter().any(|w| w.flags & flag::ORG != 0)
            || words.get(b).is_some_and(|w| w.cap && w.flags & flag::ORG != 0);
        if med || org {
            return false;
        }
        let after = &text[last.full_end..];
        // "Caprini 5", "Apgar 9": a single word followed by a number is a score
        if len == 1 && after.trim_start().starts_with(|c: char| c.is_ascii_digit()) && !after.starts_with(',') {
            let t: String = after.trim_start().chars().take(10).collect();
            let digits = t.chars().take_while(char::is_ascii_digit).count();
            let unit = t[digits..].trim_start_matches([' ', '-']);
            // "Foley 14F", "Nissen 56F": after a device or eponym, F is the French gauge
            let gauge = unit.starts_with('F') && self.lex.is_eponym_flagged(words[a].folded, words[a].flags);
            let is_age = is_age_unit(unit) && !gauge;
            if !is_age && trig != Trigger::Strong {
                return false;
            }
        }
        // "the Whipple", "a Blake drain"
        if a > 0 && self.has(flag::ARTICLE, &words[a - 1]) && !words[a - 1].cap && trig != Trigger::Strong {
            return false;
        }
        // "19 Fr Blake", "16 Fr Foley": after a number it is a size or a device
        if run[0] != Cls::D && text[..words[a].start].trim_end().ends_with(|c: char| c.is_ascii_digit()) {
            return false;
        }
        let d = run.iter().filter(|c| **c == Cls::D).count();
        let amb = run.iter().filter(|c| **c == Cls::A).count();
        let unk = run.iter().filter(|c| **c == Cls::U).count();
        let epo = run.iter().filter(|c| **c == Cls::E).count();
        let initials = run.iter().filter(|c| **c == Cls::I).count();
        let allcaps = words[a..b].iter().all(|w| w.allcaps || w.initial);
        let namey = run.iter().all(|c| matches!(c, Cls::D | Cls::A | Cls::U | Cls::P | Cls::I));
        if trig == Trigger::Strong {
            return d + amb + unk + epo > 0;
        }
        let post = self.post_context(text, words, b);
        // initial + surname: "J. Merchant", "T. Cushing"
        if initials > 0 && d + amb + unk + epo > 0 && run[0] == Cls::I {
            return true;
        }
        if allcaps {
            // "and ETA to PACU": a lone short capitals word after a weak context is an
            // abbreviation, not a name
            if len == 1 && words[a].nchars <= 3 && trig != Trigger::Strong && !post {
                return false;
            }
            // "JONATHAN MULLINS": two dictionary names in capitals
            let long = |c: Cls| words[a..b].iter().zip(run).filter(|(w, k)| **k == c && w.nchars >= 3).count();
            let (dl, al) = (long(Cls::D), long(Cls::A));
            if (dl >= 1 && dl + al >= 2 && epo == 0) || (dl + al >= 1 && (trig == Trigger::Weak || post)) {
                return true;
            }
            // capitals unknown to every list ("URKIZU ELORRIAGA"), or one after a cue
            return unk >= 1 && epo == 0 && namey && (len >= 2 || trig == Trigger::Weak || post);
        }
        if d > 0 && epo == 0 {
            if len == 1 && at_clause_start(text, words[a].start) && trig == Trigger::None && !post {
                // a lone dictionary word opening a sentence ("Lower midline…") needs support:
                // followed by punctuation or the end, not by ordinary prose
                let rest = text[last.full_end..].trim_start();
                return rest.is_empty() || rest.starts_with([',', ';', ':', '|', '/', '—', '-', '(', '.']);
            }
            return true;
        }
        let mixed_caps = words[a..b].iter().any(|w| w.allcaps);
        if len >= 2
            && !mixed_caps
            && d + amb >= 1
            && d + amb + unk + epo + initials + run.iter().filter(|c| **c == Cls::P).count() == len
        {
            // "Bill Barrett", "Jason Lewis", "Timothy Cushing": name + eponym-looking surname;
            // but two eponym-names alone ("Ivor Lewis", "Jackson Pratt") are a procedure
            let amb_epo = words[a..b]
                .iter()
                .zip(run)
                .filter(|(w, c)| **c == Cls::A && self.lex.is_eponym_flagged(w.folded, w.flags))
                .count();
            let amb_common = amb - amb_epo;
            return d >= 1 || (amb_common >= 1 && amb >= 2) || unk >= 1 || post || trig == Trigger::Weak;
        }
        // two or more capitalized words unknown to the English and OR lexicons: a name by shape
        if len >= 2 && unk >= 1 && epo == 0 && namey {
            return true;
        }
        // a given name before an eponym surname ("Wendeline Pfannenstiel", "Oriel McBurney"),
        // unless it is dated like a historical surgeon ("Hogarth Pringle, 1908")
        if len >= 2
            && run[len - 1] == Cls::E
            && run[..len - 1].iter().all(|c| matches!(c, Cls::U | Cls::D | Cls::A | Cls::P | Cls::I))
            && unk + d >= 1
            && !followed_by_year(&text[last.full_end..])
        {
            return true;
        }
        if (amb == 1 || unk == 1) && len == 1 && post {
            return true;
        }
        if unk == 1 && len == 1 {
            // an unknown word after a person preposition ("for Jurema", "sees Urtzi"), or
            // owning something that is not an eponym's sign ("Cadfael's BP")
            // after a generic preposition ("with", "to", "for", "and") a lone unknown word is as
            // likely a device or drug brand ("switch to Sonopet"): it needs a person verb before
            // it, or a letter no English brand spells with ("for Julena" stays unmasked, "for
            // Zaxoyî" is masked)
            if trig == Trigger::Weak
                && words[a].nchars >= 3
                && (self.person_cue_before(words, a) || !words[a].text.is_ascii())
            {
                return true;
            }
            if last.possessive && !self.followed_by_medical(text, words, b) {
                return true;
            }
            // "Kuzhalvaimozhi consents…", "Emrys gets…": a sentence opened by an unknown word
            // and a third-person verb
            if words.get(b).is_some_and(|nx| {
                !nx.cap
                    && gap(text, last, nx) == " "
                    && nx.nchars >= 4
                    && nx.folded.ends_with('s')
                    && !nx.folded.ends_with("ss")
                    && nx.flags & (flag::MEDICAL_NOUN | flag::FUNCTION_WORD) == 0
                    && !Lexicon::is_medical_noun_flagged(nx.folded.trim_end_matches('s'), 0)
            }) {
                return true;
            }
        }
        false
    }

    /// After-context that marks a person: "'s son", "(mother)", ", MRN", " is 62 y/o", " says".
    fn post_context(&self, text: &str, words: &[Word<'_>], b: usize) -> bool {
        let last = &words[b - 1];
        let next = words.get(b);
        if let Some(nx) = next {
            let g = gap(text, last, nx);
            let f = nx.folded;
            if last.possessive && self.has(flag::RELATION, nx) {
                return true;
            }
            if (g.trim() == "(" || g.trim() == ",") && self.has(flag::RELATION, nx) {
                return true;
            }
            if g.trim().is_empty() && self.has(flag::POST_VERB, nx) {
                return true;
            }
            if last.possessive
                && matches!(
                    f,
                    "driver's"
                        | "driver"
                        | "ssn"
                        | "dob"
                        | "mrn"
                        | "home"
                        | "tablet"
                        | "phone"
                        | "face"
                        | "insurance"
                        | "chart"
                        | "wallet"
                        | "belongings"
                        | "family"
                        | "second"
                        | "first"
                        | "car"
                        | "email"
                )
            {
                return true;
            }
        }
        let after = text[last.full_end..].trim_start_matches([',', ' ', '/', '|', ':']);
        let head = after.get(..after.len().min(6)).unwrap_or("").as_bytes();
        let starts = |p: &str| head.len() >= p.len() && head[..p.len()].eq_ignore_ascii_case(p.as_bytes());
        if let (Some(nx), Some(nx2)) = (next, words.get(b + 1)) {
            if nx.folded == "to" && !last.allcaps && gap(text, last, nx) == " " && is_care_unit(nx2.folded) {
                return true;
            }
        }
        let bare_age = {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            (1..=3).contains(&digits)
                && text[last.full_end..].trim_start().starts_with(',')
                && after[digits..].trim_start().starts_with([',', ')', ';'])
        };
        bare_age
            || starts("aged ")
            || starts("mrn")
            || starts("dob")
            || starts("age ")
            || starts("(age")
            || after.starts_with(|c: char| c.is_ascii_digit()) && {
                let t: String = after.chars().take(12).collect();
                let digits = t.chars().take_while(char::is_ascii_digit).count();
                is_age_unit(t[digits..].trim_start_matches([' ', '-']))
            }
    }
}

impl Default for Names {
    fn default() -> Self {
        Names::new()
    }
}

/// The text between two words.
pub fn gap<'t>(text: &'t str, a: &Word<'_>, b: &Word<'_>) -> &'t str {
    text.get(a.full_end..b.start).unwrap_or("")
}

impl Names {
    fn joinable(&self, text: &str, a: &Word<'_>, b: &Word<'_>, a_cls: Cls) -> bool {
        if !b.cap && !b.initial && a_cls != Cls::P && !self.has(flag::PARTICLE, b) && !particle_prefixed(b.text) {
            return false;
        }
        if a.possessive {
            return false;
        }
        let g = gap(text, a, b);
        if a_cls == Cls::I {
            return g == "." || g == ". " || g == ".  ";
        }
        !g.is_empty() && g.len() <= 2 && g.chars().all(|c| c == ' ')
    }
}

/// End of a name word without a Japanese honorific suffix ("Kinue-san" → "Kinue").
fn without_jp_suffix(w: &Word<'_>) -> usize {
    ["-san", "-sama", "-chan", "-kun", "-sensei"]
        .iter()
        .find(|x| w.folded.ends_with(*x))
        .map_or(w.end, |x| w.end.saturating_sub(x.len()))
}

/// "al-Khuwaytir", "el-Amin", "bin-Zayed": a lowercase Arabic particle and a hyphen before a
/// capitalized name.
fn particle_prefixed(t: &str) -> bool {
    if !t.as_bytes().get(2..5).is_some_and(|w| w.contains(&b'-')) {
        return false;
    }
    ["al-", "el-", "ul-", "bin-", "ibn-", "abu-", "abd-", "bint-"]
        .iter()
        .any(|p| t.len() > p.len() + 1 && t.starts_with(p) && t[p.len()..].starts_with(|c: char| c.is_uppercase()))
}

/// Initials standing for the patient: "EK extubated", "KT to recovery", "WP EBL 600" — not
/// glued to a digit or a hyphen ("LV 55%", "TX-2"), and not a state after a town ("Dallas, TX").
pub fn initials_used_as_name(text: &str, words: &[Word<'_>], i: usize) -> bool {
    let w = &words[i];
    let after = text.get(w.full_end..).unwrap_or("");
    if after.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '/') {
        return false;
    }
    let after_t = after.trim_start();
    if after_t.starts_with(|c: char| c.is_ascii_digit()) || after_t.starts_with('%') {
        return false;
    }
    let before = text.get(..w.start).unwrap_or("").trim_end();
    !(before.ends_with(',') && i > 0 && words[i - 1].cap && !words[i - 1].allcaps)
}

/// Where a patient is sent: "… to PACU", "… to the ward".
fn is_care_unit(w: &str) -> bool {
    matches!(
        w,
        "pacu"
            | "icu"
            | "nicu"
            | "picu"
            | "sicu"
            | "cvicu"
            | "hdu"
            | "ccu"
            | "ward"
            | "recovery"
            | "floor"
            | "day"
            | "the"
            | "stepdown"
            | "theatre"
            | "holding"
            | "bed"
            | "ir"
            | "ct"
            | "mri"
            | "home"
            | "rehab"
            | "or"
    )
}

/// ", 1908" / " (1908)" right after a run: a dated historical person.
fn followed_by_year(after: &str) -> bool {
    let t = after.trim_start_matches([',', ' ', '(']);
    t.len() >= 4
        && t.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && !t.as_bytes().get(4).is_some_and(u8::is_ascii_digit)
}

/// "yo", "y/o", "year…", "yr…", or a lone "M"/"F" ("62 F"), but not "16Fr" or "5 mg".
fn is_age_unit(unit: &str) -> bool {
    if ["y/o", "yo", "year", "yr"].iter().any(|u| unit.starts_with(u)) {
        return true;
    }
    let mut it = unit.chars();
    matches!(it.next(), Some('M' | 'F')) && !it.next().is_some_and(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        names_cfg(text, RedactorConfig::default())
    }

    fn names_cfg(text: &str, config: RedactorConfig) -> Vec<String> {
        let n = Names::new();
        let mut words = crate::text::words_of(text);
        n.annotate(&mut words);
        let mut out = Output::default();
        n.detect(text, &words, config, &mut out);
        let r = crate::merge::resolve(text, out);
        r.iter().map(|c| text[c.start..c.end].to_string()).collect()
    }

    #[test]
    fn context_names() {
        assert_eq!(names("this is Mr. Sato, DOB"), vec!["Sato"]);
        assert_eq!(names("Mrs Foley has tough anatomy"), vec!["Foley"]);
        assert_eq!(names("call wife Heidi at"), vec!["Heidi"]);
        assert_eq!(names("Advika's son is in the waiting room"), vec!["Advika"]);
        assert_eq!(names("guarantor Will Téllez"), vec!["Will Téllez"]);
        assert_eq!(names("ID check matches R. Sato"), vec!["R. Sato"]);
        assert_eq!(names("Account 955995060 | J.Gao | Graham patch"), vec!["J.Gao"]);
        assert_eq!(names("Trauma activation: Treviño, Hugo, plate"), vec!["Treviño, Hugo"]);
        assert_eq!(names("Handoff: TEIXEIRA, BENICIO, 65M"), vec!["TEIXEIRA, BENICIO"]);
        assert_eq!(names("Ryohei Sato is 62 y/o male"), vec!["Ryohei Sato"]);
        assert_eq!(names("Patient: iseoluwa owolabi | 93 M"), vec!["iseoluwa owolabi"]);
        assert_eq!(names("Alert: Timothy Cushing age 78"), vec!["Timothy Cushing"]);
    }

    #[test]
    fn lists_particles_and_unknown_names_in_context() {
        assert_eq!(names("Harold and Maude Finch are the parents."), vec!["Harold", "Maude Finch"]);
        assert_eq!(names("Ronan Ó Súilleabháin is next"), vec!["Ronan Ó Súilleabháin"]);
        assert_eq!(names("Spouse: Hyun-woo Park."), vec!["Hyun-woo Park"]);
        assert_eq!(names("The aunt (Rosalind Featherstonehaugh) wants updates"), vec!["Rosalind Featherstonehaugh"]);
        assert_eq!(names("Quick update for Leilani Kahananui's family"), vec!["Leilani Kahananui"]);
        assert_eq!(names("Her neighbor, Mrs. Kowalski, drove her in."), vec!["Kowalski"]);
    }

    #[test]
    fn institutions_and_phrases_untouched() {
        for t in [
            "Washington Hospital Center sent the records.",
            "Sent to Mayo Clinic for a second opinion.",
            "Ivor Lewis or McKeown? Attending prefers Ivor Lewis.",
            "Zero-degree Hopkins rod lens; Jackson-Pratt drain",
            "Sister Mary Joseph nodule noted; Grey Turner sign absent.",
            "Age 67, GCS 15, Caprini 6, Wells 4.",
            "Lower midline incision, Balfour retractor.",
        ] {
            assert!(names(t).is_empty(), "{t}: {:?}", names(t));
        }
    }

    #[test]
    fn eponyms_and_staff_untouched() {
        for t in [
            "Murphy's sign was positive, Whipple next, 16 Fr Foley",
            "Fun fact: Pfannenstiel described this back in 1878.",
            "Hx: Parkinson's; Crohn's; Down syndrome; Apgar 9",
            "Typical case: 86yo, here for Ivor Lewis esophagectomy.",
            "Might need a Blake drain here; Hartmann reversal; Nissen wrap",
            "Dr. Patel is scrubbing in",
            "Implant log: Zimmer hip stem; Covidien Symbotex mesh",
        ] {
            assert!(names(t).is_empty(), "{t}: {:?}", names(t));
        }
        let cfg = RedactorConfig { keep_staff_names: false };
        assert_eq!(names_cfg("Dr. Patel is scrubbing in", cfg), vec!["Patel"]);
    }

    #[test]
    fn nicknames_and_lowercase_relatives() {
        assert_eq!(names("Patient goes by Bunny - legal name on file"), vec!["Bunny"]);
        assert_eq!(names("he is known as Teddy on the ward"), vec!["Teddy"]);
        assert_eq!(names("spoke w/ family - grandson kieran says pt fell"), vec!["kieran"]);
        // a common word after a relative stays
        assert!(names("son will call back, daughter may visit").is_empty());
        assert!(names("the implant is a Smith+Nephew nail with serial").is_empty());
        assert_eq!(names("wife sarah, at the bedside"), vec!["sarah"]);
        assert!(names("the bleeding goes by itself").is_empty());
    }

    #[test]
    fn sizes_and_abbreviations_are_not_names() {
        for t in [
            "Foley 16Fr placed, Trendelenburg 20 degrees",
            "told her closure started and ETA to PACU 30 min",
            "Blake 19Fr x2 to the pelvis",
            "Foley 14F, Nissen 56F bougie",
        ] {
            assert!(names(t).is_empty(), "{t}: {:?}", names(t));
        }
        assert_eq!(names("Ryohei Sato 62 F, for lap chole"), vec!["Ryohei Sato"]);
    }

    #[test]
    fn names_by_shape_and_position() {
        // case headers: names no list holds, between a procedure and an age
        assert_eq!(
            names("lap sleeve, Dhaydan bin Suwaydan al-Khuwaytir, BMI 44"),
            vec!["Dhaydan bin Suwaydan al-Khuwaytir"]
        );
        assert_eq!(names("lap R colectomy, Fokje van der Sluijs-Ketelaar, 70F"), vec!["Fokje van der Sluijs-Ketelaar"]);
        assert_eq!(names("Parvindokht Farahzadi, 93, FOOSH"), vec!["Parvindokht Farahzadi"]);
        // after person prepositions and in person positions
        assert_eq!(names("sodium check for Julena at the end"), vec!["Julena"]);
        assert_eq!(names("twin A Chimsimdi out 10:02"), vec!["Chimsimdi"]);
        assert_eq!(names("Kuzhalvaimozhi consents to blood products"), vec!["Kuzhalvaimozhi"]);
        assert_eq!(names("mrs farahzadi asked for her glasses"), vec!["farahzadi"]);
        assert_eq!(names("he said call him Winne, fine"), vec!["Winne"]);
        assert_eq!(names("spelled A-G-A-N-E-T-H-A on the form"), vec!["A-G-A-N-E-T-H-A"]);
        assert_eq!(names("ZMQ extubated, to PACU 2"), vec!["ZMQ"]);
        assert_eq!(names("Kinue-san thanked everyone"), vec!["Kinue"]);
        // a given name before an eponym surname
        assert_eq!(names("repeat C-section, Wendeline Pfannenstiel, no labour"), vec!["Wendeline Pfannenstiel"]);
    }

    #[test]
    fn clinical_words_regions_and_abbreviations_stay() {
        for t in [
            "Extubated awake, SpO2 98% on 6 L face mask",
            "Ancef given, Toradol 30 held, cefazolin redosed",
            "Pfannenstiel incision, Deaver retractor, Kocher clamp",
            "over from Ireland for work, back to NICU after",
            "ETA to PACU 30 min, OR to PACU",
            "Hemicolectomy started, Laparotomy closed",
        ] {
            assert!(names(t).is_empty(), "{t}: {:?}", names(t));
        }
    }
}
