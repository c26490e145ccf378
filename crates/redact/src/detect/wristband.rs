//! Wristband and label order: "SURNAME, GIVEN", "SURNAME-SURNAME, GIVEN", "BONGO, ÁNTE N.",
//! "ZAXOYÎ, B.", "PFANNENSTIEL, BOY" (a baby band), "McBurney, O." — a surname, a comma, then
//! given names, initials or a baby's sex. Capitals that no English or OR lexicon knows, or a
//! surname followed by an initial, make the pair a name even when the surname is an eponym.

use super::eponyms::flag;
use super::names::gap;
use super::{prio, Output};
use crate::text::Word;
use crate::PhiType;

/// Words a baby band puts where the given name goes.
const BABY: &[&str] = &["boy", "girl", "baby", "twin", "infant", "male", "female"];

fn ordinary(w: &Word<'_>) -> bool {
    w.flags
        & (flag::ENGLISH
            | flag::JARGON
            | flag::COMMON
            | flag::FUNCTION_WORD
            | flag::HONORIFIC
            | flag::STAFF
            | flag::RELATION
            | flag::STATE_CODE
            | flag::MEDICAL_NOUN
            | flag::ORG
            | flag::REGION)
        != 0
}

/// A surname word: capitalized, not ordinary; an eponym only in capitals or before an initial.
fn surname_like(w: &Word<'_>) -> bool {
    // in capitals an English word can be a surname ("BONGO, ÁNTE"): the pair then needs a word
    // no lexicon knows
    let english_caps = w.allcaps && w.flags & flag::ENGLISH != 0 && w.flags & (flag::JARGON | flag::COMMON) == 0;
    w.cap && !w.initial && w.nchars >= 3 && (!ordinary(w) || english_caps) && !(w.allcaps && w.nchars <= 3)
}

pub fn detect(text: &str, words: &[Word<'_>], out: &mut Output) {
    let n = words.len();
    for i in 0..n {
        let w = &words[i];
        if !surname_like(w) || w.possessive {
            continue;
        }
        // the surname may be two words in capitals ("URKIZU ELORRIAGA, AMAIUR")
        let mut j = i + 1;
        if j < n && words[j].allcaps && w.allcaps && surname_like(&words[j]) && gap(text, w, &words[j]) == " " {
            j += 1;
        }
        let Some(first) = words.get(j) else {
            continue;
        };
        if gap(text, &words[j - 1], first).trim() != "," || words[j - 1].possessive {
            continue;
        }
        // given names, initials or the baby's sex, up to three words
        let mut k = j;
        let mut given = 0;
        let mut initial_only = true;
        let mut baby = false;
        while k < n && k < j + 3 {
            let g = &words[k];
            let joined = k == j || matches!(gap(text, &words[k - 1], g), " " | ". " | ".");
            if !joined || !g.cap {
                break;
            }
            // an initial, or in capitals a bare middle letter after a given name ("LEILANI M")
            let bare_middle = g.nchars == 1 && w.allcaps && k > j && !words[k - 1].initial && words[k - 1].nchars > 1;
            if g.initial || bare_middle {
                given += 1;
            } else if g.allcaps && BABY.contains(&g.folded) {
                baby = true;
                k += 1;
                break;
            } else if surname_like(g) && (g.allcaps == w.allcaps || !w.allcaps) {
                given += 1;
                initial_only = false;
            } else {
                break;
            }
            k += 1;
        }
        if given == 0 && !baby {
            continue;
        }
        let caps = w.allcaps;
        let unknown = words[i..j].iter().chain(words[j..k].iter()).any(|x| {
            x.flags & (flag::NAME | flag::WORLD_NAME | flag::EPONYM | flag::ENGLISH) == 0 && !x.initial && x.nchars >= 3
        });
        let named =
            words[i..j].iter().chain(words[j..k].iter()).any(|x| x.flags & (flag::NAME | flag::WORLD_NAME) != 0);
        // "SURNAME, GIVEN" in capitals, a surname before initials ("McBurney, O."), a baby band,
        // or two title-case words no list knows as ordinary with at least one unknown or name
        // title case is ambiguous ("Langenbeck, Senn-Miller, Richardson"): it needs the start of a
        // clause, an unknown surname and a listed given name, and no eponym among the given names
        let title_ok = !caps
            && crate::text::at_clause_start(text, w.start)
            && unknown
            && (named || words[i].text.contains('-'))
            && !words[j..k].iter().any(|x| x.flags & flag::EPONYM != 0);
        let ok = (caps && (unknown || named || baby)) || (given > 0 && initial_only) || title_ok;
        if !ok {
            continue;
        }
        let eponym_alone = words[i..j].iter().all(|x| x.flags & flag::EPONYM != 0) && !caps && !initial_only;
        if eponym_alone {
            continue;
        }
        let end = if baby { k - 1 } else { k };
        let last = if end > j { &words[end - 1] } else { &words[j - 1] };
        // an initial keeps its period ("B.")
        let stop = if last.initial && text[last.end..].starts_with('.') { last.end + 1 } else { last.end };
        out.push(PhiType::Name, w.start, stop, prio::NAME);
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
        detect(text, &words, &mut out);
        out.cands.iter().map(|c| text[c.start..c.end].to_string()).collect()
    }

    #[test]
    fn band_orders() {
        assert_eq!(found("TFOY, NKAUJ NTXHI — band checked"), vec!["TFOY, NKAUJ NTXHI"]);
        assert_eq!(found("baby band printed: PFANNENSTIEL, BOY, 08:03"), vec!["PFANNENSTIEL"]);
        assert_eq!(found("path req under BONGO, ÁMDE N."), vec!["BONGO, ÁMDE N."]);
        assert_eq!(found("Wristband reads KAHANANUI, LEILANI M"), vec!["KAHANANUI, LEILANI M"]);
        assert_eq!(found("specimen: ZAXOYÎ, B. L breast"), vec!["ZAXOYÎ, B."]);
        assert_eq!(found("appendix sent: McBurney, O. appendix"), vec!["McBurney, O."]);
        assert_eq!(found("Loldgibamitse-Eristavi, Mzevinar — R hip"), vec!["Loldgibamitse-Eristavi, Mzevinar"]);
    }

    #[test]
    fn lists_of_things_stay() {
        for t in [
            "LIMA to LAD, RCA to OM1",
            "SCALPEL, CLAMP, SUCTION please",
            "Deaver, Richardson, Balfour on the back table",
            "Dallas, TX and Ohio, USA",
            "Vicryl, Monocryl, Prolene",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
