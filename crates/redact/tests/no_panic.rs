//! Arbitrary Unicode in: no panic, offsets on char boundaries, spans consistent with the text.

use orgallery_redact::{Identifiers, PatientMatcher, PhiType, Redactor};
use proptest::prelude::*;
use std::sync::OnceLock;

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(Redactor::default)
}

fn check(text: &str, pm: Option<&PatientMatcher>) {
    let r = redactor();
    let red = r.redact(text, pm);
    let findings = r.detect(text, pm);
    assert_eq!(findings, red.findings);
    let orig: Vec<char> = text.chars().collect();
    let out: Vec<char> = red.text.chars().collect();
    assert_eq!(red.spans.len(), red.findings.len());
    let mut prev_end = 0;
    let mut rebuilt = String::new();
    let mut pos = 0;
    for (f, s) in red.findings.iter().zip(&red.spans) {
        assert!(f.start < f.end && f.end <= orig.len());
        assert!(f.start >= prev_end, "overlap or unsorted");
        prev_end = f.end;
        assert_eq!(f.kind, s.kind);
        let mask: String = out[s.start..s.end].iter().collect();
        assert_eq!(mask, s.kind.mask());
        rebuilt.extend(&orig[pos..f.start]);
        rebuilt.push_str(s.kind.mask());
        pos = f.end;
    }
    rebuilt.extend(&orig[pos..]);
    assert_eq!(rebuilt, red.text);
}

fn matcher() -> PatientMatcher {
    PatientMatcher::new(&Identifiers {
        names: vec!["Nhiên Nguyễn".into(), "O'Neil-Ä".into(), "x".into(), "".into()],
        mrns: vec!["43111520".into(), "--".into()],
        dates: vec!["1957-03-14".into(), "garbage".into(), "31/31/31".into()],
        other: vec!["(415) 822-6155".into(), "a@b.co".into(), "ß".into()],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_unicode(s in any::<String>()) {
        check(&s, None);
        check(&s, Some(&matcher()));
    }

    #[test]
    fn phi_shaped_noise(s in r"[A-Za-zÀ-ž0-9 .,:;'’()/#@+\-|—]{0,120}") {
        check(&s, None);
        check(&s, Some(&matcher()));
    }
}

#[test]
fn edge_cases() {
    let pm = matcher();
    for t in [
        "",
        " ",
        "Mr.",
        "Mr",
        "Dr.",
        "’s",
        "J.",
        "1/",
        "@",
        "http://",
        "a\u{301}\u{301}\u{301}",
        "Nguyễn’s",
        "\u{0}\u{FFFF}\u{10FFFF}",
        "999-99-9999-",
        "MRN",
        "MRN 4311 1520 Nhiên",
        "ﬁ ǅ İstanbul ẞ",
        "Ä, CA 94590",
        " , CA 94590",
        ",CA 94590",
        "x Élan  Ville, NY 10001-1234",
        "lives alone in Ñandú, born in Øster",
        "1 Ö St, Å, WA 98101",
        "DOB 31/31/31, 99/99, 0/0/0000, 2024-13-45",
        "MRN -- / # : 12 34 56 78 90 12",
        "Mr. Mr. Dr. Dr. wife wife ,",
    ] {
        check(t, None);
        check(t, Some(&pm));
    }
    let _ = PhiType::ALL;
}
