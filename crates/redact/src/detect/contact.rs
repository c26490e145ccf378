//! Email addresses, URLs and IP addresses.

use super::{prio, Output};
use crate::PhiType;
use regex::Regex;

#[derive(Debug)]
pub struct Contact {
    email: Regex,
    url: Regex,
    ipv4: Regex,
    ipv6: Regex,
}

const TLDS: &str = "com|org|net|edu|gov|mil|int|io|us|uk|ca|au|de|fr|es|it|nl|in|jp|cn|br|mx|co|me|info|biz|health|care|app|online|site|cloud|ly|tv|eu|ch|se|no|dk|fi|pl|tr|vn|ng|ie|nz|za";

impl Contact {
    pub fn new() -> Contact {
        let url = format!(
            r"(?i)(?-u:\b)(?:(?:https?|ftp|sftp)://|www\.)[^\s<>()\[\]{{}}]+|(?-u:\b)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.(?:{TLDS})(?-u:\b)(?:[:/?#][^\s<>()\[\]{{}}]*)?"
        );
        Contact {
            email: Regex::new(r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+'-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+").expect("static regex"),
            url: Regex::new(&url).expect("static regex"),
            ipv4: Regex::new(r"(?-u:\b)(?:\d{1,3}\.){3}\d{1,3}(?-u:\b)").expect("static regex"),
            ipv6: Regex::new(r"(?i)(?-u:\b)(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?-u:\b)|(?-u:\b)(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?(?-u:\b)").expect("static regex"),
        }
    }

    #[cfg(test)]
    pub fn detect(&self, text: &str, out: &mut Output) {
        self.detect_shaped(text, &crate::text::Shape::of(text), out);
    }

    pub fn detect_shaped(&self, text: &str, shape: &crate::text::Shape, out: &mut Output) {
        let has_at = text.contains('@');
        if has_at {
            for m in self.email.find_iter(text) {
                out.push(PhiType::Email, m.start(), m.end(), prio::CONTACT);
            }
        }
        if text.contains('.') {
            if maybe_url(text) && url_possible(text) {
                self.urls(text, has_at, out);
            }
            if shape.dotted_quad {
                self.ips(text, out);
            }
        }
        // every IPv6 form has seven colons or a "::"
        if shape.double_colon || shape.colons >= 7 {
            self.ipv6(text, out);
        }
    }

    fn urls(&self, text: &str, has_at: bool, out: &mut Output) {
        for m in self.url.find_iter(text) {
            let s = m.as_str();
            // part of an email: the email candidate covers it
            if has_at && (text[..m.start()].ends_with('@') || s.contains('@')) {
                continue;
            }
            let end = m.start() + trim_trailing(s);
            let core = &text[m.start()..end];
            if !core.contains('/') && !core.to_ascii_lowercase().starts_with("www.") {
                // bare domain: not an all-digit dotted number
                if core.split('.').count() < 2 || core.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    continue;
                }
            }
            out.push(PhiType::Url, m.start(), end, prio::CONTACT);
        }
    }

    fn ips(&self, text: &str, out: &mut Output) {
        if text.bytes().filter(|b| *b == b'.').count() < 3 {
            return;
        }
        for m in self.ipv4.find_iter(text) {
            let ok = m.as_str().split('.').all(|o| o.parse::<u16>().map(|v| v <= 255).unwrap_or(false));
            let before = text[..m.start()].chars().next_back();
            let after = &text[m.end()..];
            let glued = matches!(before, Some('.') | Some('/'))
                || (after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit()));
            if ok && !glued {
                out.push(PhiType::Ip, m.start(), m.end(), prio::CONTACT);
            }
        }
    }

    fn ipv6(&self, text: &str, out: &mut Output) {
        if text.matches(':').count() >= 2 {
            for m in self.ipv6.find_iter(text) {
                if m.as_str().matches(':').count() >= 2 && m.as_str().chars().any(|c| c.is_ascii_digit()) {
                    // avoid times like 10:30:00
                    if m.as_str().split(':').all(|p| p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit())) {
                        continue;
                    }
                    out.push(PhiType::Ip, m.start(), m.end(), prio::CONTACT);
                }
            }
        }
    }
}

impl Default for Contact {
    fn default() -> Self {
        Contact::new()
    }
}

/// Cheap check before the URL regex: a scheme, "www." or a '.' followed by a letter.
fn maybe_url(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(2).any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic())
        && (text.contains("://")
            || b.windows(3).any(|w| w[0].is_ascii_alphanumeric() && w[1] == b'.' && w[2].is_ascii_alphabetic()))
}

/// Necessary for a URL match: a scheme ("://"), "www." or a '.' followed by a top-level domain
/// ending at an ASCII word boundary (a non-ASCII byte there counts as possible: the pattern is
/// case-insensitive over Unicode).
fn url_possible(text: &str) -> bool {
    let b = text.as_bytes();
    if text.contains("://") {
        return true;
    }
    for (i, _) in b.iter().enumerate().filter(|(_, c)| **c == b'.') {
        let tail = &b[i + 1..];
        let n = tail.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
        if tail.get(n).is_some_and(|&c| c >= 0x80) {
            return true;
        }
        let word = &tail[..n];
        if (2..=6).contains(&n) && is_tld(word) {
            return true;
        }
        // "www." before this dot
        if i >= 3 && b[i - 3..i].eq_ignore_ascii_case(b"www") {
            return true;
        }
    }
    false
}

/// One of [`TLDS`], any ASCII case.
fn is_tld(word: &[u8]) -> bool {
    let mut buf = [0u8; 6];
    let Some(low) = buf.get_mut(..word.len()) else {
        return false;
    };
    low.copy_from_slice(word);
    low.make_ascii_lowercase();
    matches!(
        &*low,
        b"com"
            | b"org"
            | b"net"
            | b"edu"
            | b"gov"
            | b"mil"
            | b"int"
            | b"io"
            | b"us"
            | b"uk"
            | b"ca"
            | b"au"
            | b"de"
            | b"fr"
            | b"es"
            | b"it"
            | b"nl"
            | b"in"
            | b"jp"
            | b"cn"
            | b"br"
            | b"mx"
            | b"co"
            | b"me"
            | b"info"
            | b"biz"
            | b"health"
            | b"care"
            | b"app"
            | b"online"
            | b"site"
            | b"cloud"
            | b"ly"
            | b"tv"
            | b"eu"
            | b"ch"
            | b"se"
            | b"no"
            | b"dk"
            | b"fi"
            | b"pl"
            | b"tr"
            | b"vn"
            | b"ng"
            | b"ie"
            | b"nz"
            | b"za"
    )
}

fn trim_trailing(s: &str) -> usize {
    s.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"', '’']).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PhiType, String)> {
        let mut out = Output::default();
        Contact::new().detect(text, &mut out);
        out.cands.iter().map(|c| (c.kind, text[c.start..c.end].to_string())).collect()
    }

    #[test]
    fn email_url_ip() {
        let f = found("mail jie_song@outlook.com or see https://viewer.sfgen.org/p/100514, from 10.141.253.30.");
        assert!(f.contains(&(PhiType::Email, "jie_song@outlook.com".into())));
        assert!(f.contains(&(PhiType::Url, "https://viewer.sfgen.org/p/100514".into())));
        assert!(f.contains(&(PhiType::Ip, "10.141.253.30".into())));
        assert!(!f.iter().any(|(k, s)| *k == PhiType::Url && s.contains("outlook")));
    }

    #[test]
    fn bare_domain_with_path() {
        let f = found("link mychart.valleymed.org/share/fzbpn5cksx if you want");
        assert_eq!(f, vec![(PhiType::Url, "mychart.valleymed.org/share/fzbpn5cksx".into())]);
    }

    #[test]
    fn tld_list_matches_pattern() {
        for t in TLDS.split('|') {
            assert!(is_tld(t.as_bytes()) && is_tld(t.to_uppercase().as_bytes()), "{t}");
        }
        assert!(!is_tld(b"comx") && !is_tld(b"c"));
    }

    #[test]
    fn no_false_ips_or_urls() {
        assert!(found("ABG 7.32/45/88, iCa 1.08, BMI 27.5, 2.5 mg").is_empty());
        assert!(found("uid 1.2.840.113619.2.55").iter().all(|(k, _)| *k != PhiType::Ip));
        assert!(found("at 10:30:00 and 8:03").is_empty());
    }
}
