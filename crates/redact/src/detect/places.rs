//! Towns, villages, neighbourhoods and counties named without a street address: "drove in from
//! Frazee", "lives in Mattapan", "phoned from Mekelle", "Kittson County". A capitalized run after
//! a place cue is a place if the GeoNames gazetteer knows it, or — after a residence cue ("lives
//! in", "is from", "drove in from") — if it is no English, OR or name-list word. Countries, states
//! and provinces are not PHI; hospital names ("Kittson County general" aside) stay.

use super::eponyms::flag;
use super::names::gap;
use super::{prio, Output};
use crate::text::Word;
use crate::PhiType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cue {
    None,
    /// "in", "from", "near": only gazetteer places
    Weak,
    /// "lives in", "is from", "drove in from": any unknown capitalized run
    Strong,
}

/// Words after which "from" points to where a person lives or comes from.
const FROM_STRONG: &[&str] = &[
    "in",
    "down",
    "up",
    "over",
    "is",
    "she's",
    "he's",
    "they're",
    "originally",
    "visiting",
    "transfer",
    "transferred",
    "phoned",
    "calling",
    "called",
    "drove",
    "driving",
    "flew",
    "flown",
    "came",
    "coming",
    "moved",
    "family",
    "relocated",
    "emigrated",
    "here",
    "all",
    "way",
    "back",
    "commutes",
    "traveled",
    "travelled",
    "arrived",
    "bus",
    "ferry",
    "flight",
    "ambulance",
    "helicopter",
    "retired",
    "native",
    "hails",
    "farmer",
    "fisherman",
    "herder",
    "pt",
    "patient",
    "wife",
    "husband",
    "son",
    "daughter",
    "mother",
    "father",
    "sister",
    "brother",
    "nephew",
    "niece",
    "aunt",
    "uncle",
    "cousin",
    "neighbour",
    "neighbor",
    "friend",
    "family",
];
/// Words before "in"/"near"/"outside" that make the place a residence.
const IN_STRONG: &[&str] = &[
    "lives",
    "living",
    "lived",
    "live",
    "resides",
    "residing",
    "resided",
    "stays",
    "staying",
    "born",
    "raised",
    "grew",
    "home",
    "farm",
    "house",
    "flat",
    "apartment",
    "works",
    "worked",
    "moved",
    "village",
    "town",
    "ranch",
    "property",
    "cottage",
    "up",
];
/// The last word of a town's name that is an English word ("Quillanby Falls", "Sunset Park").
const PLACE_TAILS: &[&str] = &[
    "falls", "park", "springs", "spring", "heights", "beach", "city", "town", "village", "creek", "hills", "hill",
    "valley", "harbour", "harbor", "bay", "lake", "point", "mills", "junction", "crossing", "ridge", "grove", "bridge",
    "river", "rapids", "landing", "station", "corner", "corners", "ford", "haven", "port", "wells",
];
/// Before "in": a person being somewhere ("he's in Addis this week").
const IN_PERSON: &[&str] =
    &["he's", "she's", "they're", "currently", "still", "staying", "studying", "working", "visiting"];
/// After a place, these make it an institution ("Toowoomba Hospital", "Kittson County general").
const ORG_AFTER: &[&str] = &[
    "hospital",
    "general",
    "medical",
    "clinic",
    "health",
    "memorial",
    "regional",
    "university",
    "children's",
    "childrens",
    "infirmary",
    "center",
    "centre",
    "community",
    "district",
    "county's",
    "hospice",
    "mercy",
    "st",
    "saint",
    "ems",
    "fire",
    "police",
    "airport",
    "station",
    "ltd",
    "inc",
];

#[derive(Debug)]
pub struct Places {
    /// After a town: an optional region code and a numeric (or Canadian) postcode.
    code_after: regex::Regex,
}

impl Places {
    pub fn new() -> Places {
        Places {
            code_after: regex::Regex::new(
                r"^,?[ \t]+(?:([A-Z]{2,3})[ \t]+)?(\d{3} \d{3}|\d{3,6}|[A-Z]\d[A-Z] ?\d[A-Z]\d)",
            )
            .expect("static regex"),
        }
    }

    /// "Toowoomba QLD 4350", "Chennai 600004", "Rotorua 3010", "Iqaluit NU X0A 1H0": a town
    /// followed by a postcode (the region code between them is not PHI).
    fn town_and_code(&self, text: &str, words: &[Word<'_>], out: &mut Output) {
        for (i, w) in words.iter().enumerate() {
            if !w.cap || w.allcaps || w.nchars < 3 || w.flags & (flag::JARGON | flag::EPONYM) != 0 {
                continue;
            }
            let comma_before = i > 0 && gap(text, &words[i - 1], w).trim() == ",";
            if w.flags & flag::PLACE == 0 && !comma_before {
                continue;
            }
            // the regex only where a digit or a capital follows
            let rest = text.get(w.full_end..).unwrap_or("");
            let next = rest.trim_start_matches([',', ' ', '\t']).as_bytes().first().copied();
            if !next.is_some_and(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
                continue;
            }
            let Some(c) = self.code_after.captures(rest) else {
                continue;
            };
            let Some(code) = c.get(2) else {
                continue;
            };
            let (cs, ce) = (w.full_end + code.start(), w.full_end + code.end());
            let next = text[ce..].chars().next();
            if next.is_some_and(|ch| ch.is_alphanumeric() || ch == '.' || ch == '%' || ch == '/' || ch == ':') {
                continue;
            }
            let region = c.get(1).is_some();
            let known = w.flags & flag::PLACE != 0 && (w.flags & flag::ENGLISH == 0 || comma_before || region);
            if known || (comma_before && region) {
                out.push(PhiType::Address, w.start, w.end, prio::ADDRESS);
                out.push(PhiType::Address, cs, ce, prio::ADDRESS);
            }
        }
    }

    pub fn detect(&self, text: &str, words: &[Word<'_>], out: &mut Output) {
        if text.bytes().any(|b| b.is_ascii_digit()) {
            self.town_and_code(text, words, out);
        }
        let g = crate::gazetteer::get();
        let n = words.len();
        let mut i = 0;
        while i < n {
            let w = &words[i];
            if !w.cap || w.allcaps || w.nchars < 3 {
                i += 1;
                continue;
            }
            let cue = cue_before(text, words, i);
            let county = county_at(words, i);
            if cue == Cue::None && !county {
                i += 1;
                continue;
            }
            // a run of up to three capitalized words joined by single spaces
            let mut end = i + 1;
            while end < n
                && end < i + 3
                && words[end].cap
                && !words[end].allcaps
                && gap(text, &words[end - 1], &words[end]) == " "
                && !words[end - 1].possessive
            {
                end += 1;
            }
            let mut found = None;
            for e in (i + 1..=end).rev() {
                let key: String = words[i..e].iter().map(|w| w.folded).collect::<Vec<_>>().join(" ");
                if g.is_region(&key) {
                    found = None;
                    break;
                }
                let known = if e == i + 1 { w.flags & flag::PLACE != 0 } else { g.is_place(&key) };
                let person_like = e == i + 1 && w.flags & (flag::NAME | flag::WORLD_NAME) != 0;
                let ordinary = words[i..e].iter().any(|w| {
                    w.flags & (flag::ENGLISH | flag::JARGON | flag::COMMON | flag::ORG) != 0
                        || ORG_AFTER.contains(&w.folded)
                });
                let single = e == i + 1;
                // "Quillanby Falls": an unknown word and an English place word
                let tailed = !single
                    && words[e - 1].flags & flag::ENGLISH != 0
                    && PLACE_TAILS.contains(&words[e - 1].folded)
                    && words[i..e - 1].iter().all(|x| x.flags & (flag::ENGLISH | flag::JARGON | flag::COMMON) == 0);
                let ordinary = ordinary && !tailed;
                let accept = match cue {
                    Cue::Strong => known || !ordinary,
                    Cue::Weak if single => known && !ordinary && !(person_like && preposition(words, i) == "from"),
                    Cue::Weak => known,
                    Cue::None => false,
                };
                if accept || (county && e == i + 2) {
                    found = Some(e);
                    break;
                }
            }
            let Some(e) = found else {
                i += 1;
                continue;
            };
            let eponym = words[i..e].iter().any(|w| w.flags & flag::EPONYM != 0 && w.flags & flag::PLACE == 0);
            let org = (words.get(e).is_some_and(|nx| ORG_AFTER.contains(&nx.folded))
                || words[i..e].iter().any(|w| w.flags & flag::ORG != 0))
                && !county;
            if !eponym && !org {
                out.push(PhiType::Address, words[i].start, words[e - 1].end, prio::ADDRESS);
            }
            i = e;
        }
    }
}

/// "Kittson County", "Orange Parish": a capitalized word and a county word.
fn county_at(words: &[Word<'_>], i: usize) -> bool {
    words.get(i + 1).is_some_and(|nx| nx.cap && matches!(nx.folded, "county" | "parish" | "borough" | "shire"))
        && words[i].flags & (flag::FUNCTION_WORD | flag::JARGON) == 0
}

fn preposition<'a>(words: &'a [Word<'_>], i: usize) -> &'a str {
    if i == 0 {
        return "";
    }
    words[i - 1].folded
}

fn cue_before(text: &str, words: &[Word<'_>], i: usize) -> Cue {
    if i == 0 {
        return Cue::None;
    }
    let p = &words[i - 1];
    if gap(text, p, &words[i]) != " " {
        return Cue::None;
    }
    let before = i.checked_sub(2).map(|k| &words[k]);
    let linked = before.is_some_and(|b| gap(text, b, p).trim().is_empty());
    match p.folded {
        "from" => {
            let strong = linked && before.is_some_and(|b| FROM_STRONG.contains(&b.folded) || b.possessive)
                || crate::text::at_clause_start(text, p.start);
            if strong {
                Cue::Strong
            } else {
                Cue::Weak
            }
        }
        "in" | "near" | "outside" | "around" | "at" | "to" => {
            let strong = linked
                && before.is_some_and(|b| {
                    IN_STRONG.contains(&b.folded)
                        || IN_PERSON.contains(&b.folded)
                        || (b.possessive && matches!(b.folded, "he" | "she" | "it"))
                })
                || matches!(p.folded, "near" | "outside") && linked && before.is_some_and(|b| b.folded != "the");
            if strong {
                Cue::Strong
            } else if matches!(p.folded, "in" | "near" | "outside" | "to") {
                Cue::Weak
            } else {
                Cue::None
            }
        }
        _ => Cue::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let names = super::super::names::Names::new();
        let mut words = crate::text::words_of(text);
        names.annotate(&mut words);
        let mut out = Output::default();
        Places::new().detect(text, &words, &mut out);
        out.cands.iter().map(|c| text[c.start..c.end].to_string()).collect()
    }

    #[test]
    fn towns_without_an_address() {
        assert_eq!(found("his son drove him in from Frazee this morning"), vec!["Frazee"]);
        assert_eq!(found("she lives in Mattapan with her niece"), vec!["Mattapan"]);
        assert_eq!(found("the daughter phoned from Silver Spring"), vec!["Silver Spring"]);
        assert_eq!(found("transferred from Kittson County general"), vec!["Kittson County"]);
        // unknown to the gazetteer, but after a residence cue
        assert_eq!(found("family drove in from Quillanby, 3 hours"), vec!["Quillanby"]);
    }

    #[test]
    fn towns_before_postcodes() {
        assert_eq!(found("home is Toowoomba QLD 4350, here for"), vec!["Toowoomba", "4350"]);
        assert_eq!(found("12 X Street, Mylapore, Chennai 600004, lives"), vec!["Chennai", "600004"]);
        assert!(found("Apgar 8, Caprini 5, Room 101, bed 12").is_empty());
    }

    #[test]
    fn regions_institutions_and_words_stay() {
        for t in [
            "she is from Kerala, speaks Malayalam",
            "flew in from Canada last week",
            "transferred from Toowoomba Hospital",
            "moved to Recovery at 10:40",
            "pt in PACU, then to Ward 4",
            "call from Maria at 3",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
