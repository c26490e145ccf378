//! Dates the Gregorian numeric and month-name patterns in `dates.rs` do not cover: the day alone
//! ("on the 21st"), ordinal words ("the fourth of March 1950", "7th of July"), Roman-numeral
//! months ("12.IV.1928"), Japanese era dates ("昭和8年3月3日", "Shōwa 8.3.3", "H2.11.23"),
//! Hijri, Persian/Afghan solar and Ethiopian month names with a day or a year ("14 Ramadan
//! 1443", "3 Farvardin 1310", "12 Meskerem 1971"), and holidays given as a birthday ("born on
//! Nowruz 1975", "her birthday is Christmas Eve").

use super::gates::{has_any, ByteGates};
use super::{prio, Output};
use crate::PhiType;
use regex::Regex;

const ORDINAL_WORDS: &str = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|thirty[- ]first)";
const MONTH_NAMES: &str = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)";
/// Hijri, Persian (Iran), solar Hijri (Afghanistan) and Ethiopian month names.
const OTHER_MONTHS: &str = r"(?:Muharram|Safar|Rabi(?:'|’)?(?:\s|-)?(?:al|ul|el)?(?:\s|-)?(?:Awwal|Akhir|Thani|Sani|I{1,2})|Jumad(?:a|al)(?:\s|-)?(?:al|ul|el)?(?:\s|-)?(?:Ula|Awwal|Akhirah|Thani|Ukhra|I{1,2})|Rajab|Sha(?:'|’)?ban|Ramadan|Ramazan|Shawwal|Dhu(?:\s|-)?al(?:\s|-)?(?:Qa(?:'|’)?dah|Qi(?:'|’)?dah|Hijjah)|Zul(?:\s|-)?(?:Qadah|Hijjah)|Farvardin|Ordibehesht|Khordad|Tir|Mordad|Amordad|Shahrivar|Mehr|Aban|Azar|Dey|Bahman|Esfand|Hamal|Sawr|Jawza|Saratan|Asad|Sonbola|Sunbula|Mizan|Aqrab|Qaws|Jadi|Dalw|Hoot|Hut|Meskerem|Tikimt|Tekemt|Hidar|Hedar|Tahsas|Tahesas|Ter|Yekatit|Megabit|Miyazya|Miazia|Ginbot|Genbot|Sene|Hamle|Nehase|Nehasse|Pagume|Pagumen)";
/// Holidays and feasts a birthday is given as (matched only with a birth cue nearby).
const HOLIDAYS: &str = r"(?i:christmas(?:\s+(?:day|eve))?|ethiopian\s+christmas|orthodox\s+christmas|new\s+year(?:'s|’s|s)?(?:\s+(?:day|eve))?|(?:lunar|chinese|khmer|tamil|sinhala|thai|persian|iranian|jewish|vietnamese)\s+new\s+year|nowruz|norooz|nauryz|easter(?:\s+sunday)?|good\s+friday|thanksgiving|halloween|valentine(?:'s|’s|s)?\s+day|independence\s+day|canada\s+day|australia\s+day|bastille\s+day|guy\s+fawkes(?:\s+night)?|st\.?\s+patrick(?:'s|’s|s)?\s+day|saint\s+patrick(?:'s|’s|s)?\s+day|diwali|deepavali|holi|eid(?:\s+al[- ](?:fitr|adha))?|hanukkah|chanukah|passover|rosh\s+hashanah|yom\s+kippur|purim|tet|songkran|vishu|pongal|onam|hinamatsuri|tanabata|children(?:'s|’s)\s+day|genna|gena|timkat|meskel|enkutatash|san\s+ferm[ií]n|midsummer(?:\s+day)?|may\s+day|labou?r\s+day|memorial\s+day|mawlid|ashura)";

#[derive(Debug)]
pub struct Calendars {
    day_only: Regex,
    ordinal_of: Regex,
    roman: Regex,
    japanese_kanji: Regex,
    japanese_roman: Regex,
    other_months: Regex,
    holiday: Regex,
    holiday_rel: Regex,
}

impl Calendars {
    pub fn new() -> Calendars {
        Calendars {
            // "on the 21st", "by the 3rd": the ordinal only (the article stays outside)
            day_only: Regex::new(r"(?i)(?-u:\b)(?:on|by|until|till|since|before|after|for|from|around|born|birthday|is|was|turns|signed)\s+the\s+(\d{1,2}(?:st|nd|rd|th))(?-u:\b)").expect("static regex"),
            ordinal_of: Regex::new(&format!(r"(?i)(?-u:\b)(?:{ORDINAL_WORDS}|\d{{1,2}}(?:st|nd|rd|th))\s+of\s+{MONTH_NAMES}(?-u:\b)(?:,?\s+(?:1[89]|20)\d\d(?-u:\b))?|(?-u:\b){MONTH_NAMES}\s+the\s+(?:{ORDINAL_WORDS}|\d{{1,2}}(?:st|nd|rd|th))(?-u:\b)(?:,?\s+(?:1[89]|20)\d\d(?-u:\b))?")).expect("static regex"),
            roman: Regex::new(r"(?-u:\b)\d{1,2}[./\- ](?:XII|XI|X|IX|VIII|VII|VI|V|IV|III|II|I)[./\- ](?:1[89]\d\d|20\d\d|\d\d)(?-u:\b)").expect("static regex"),
            japanese_kanji: Regex::new(r"(?:明治|大正|昭和|平成|令和)(?:\d{1,2}|元)年(?:\d{1,2}月(?:\d{1,2}日)?)?").expect("static regex"),
            japanese_roman: Regex::new(r"(?i)(?-u:\b)(?:meiji|taish[oō]|sh[oō]wa|heisei|reiwa)\s*(?:\d{1,2}|gannen)[./\- ]\d{1,2}[./\- ]\d{1,2}(?-u:\b)|(?-u:\b)[MTSHR]\d{1,2}[./]\d{1,2}[./]\d{1,2}(?-u:\b)").expect("static regex"),
            other_months: Regex::new(&format!(r"(?-u:\b)\d{{1,2}}(?:st|nd|rd|th)?\s+{OTHER_MONTHS}(?:,?\s+\d{{3,4}}(?:\s*(?:AH|SH|EC|H))?)?(?-u:\b)|(?-u:\b){OTHER_MONTHS}\s+\d{{1,2}},?\s+\d{{3,4}}(?-u:\b)")).expect("static regex"),
            holiday: Regex::new(&format!(r"(?-u:\b){HOLIDAYS}(?:\s+(?:of\s+)?(?:1[89]|20)\d\d)?(?-u:\b)")).expect("static regex"),
            holiday_rel: Regex::new(&format!(r"(?i)(?-u:\b)(?:(?:one|two|three|four|five|six|seven|a|\d{{1,2}})\s+(?:days?|weeks?)\s+(?:after|before)|the\s+day\s+(?:after|before))\s+{HOLIDAYS}(?-u:\b)")).expect("static regex"),
        }
    }

    /// `lower`: `text.to_ascii_lowercase()`; `month_hint`: a Gregorian month word is in the
    /// message ([`crate::text::Shape`]); `g`: the message's [`ByteGates`].
    pub fn detect(&self, text: &str, lower: &str, month_hint: bool, g: &ByteGates, out: &mut Output) {
        let day_gate = g.ordinal_digits && lower.contains("the ");
        let roman_gate = g.roman;
        let era_gate = g.era_short
            || (g.digit_sep_digit && has_any(lower, &["meiji", "taish", "showa", "shōwa", "heisei", "reiwa"]));
        let month_gate = g.digit_space_cap;
        if day_gate {
            for c in self.day_only.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
                }
            }
        }
        if roman_gate {
            for m in self.roman.find_iter(text) {
                out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
            }
        }
        if era_gate {
            for m in self.japanese_roman.find_iter(text) {
                out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
            }
        }
        if month_gate {
            for m in self.other_months.find_iter(text) {
                let s = m.as_str();
                // a short month name ("Tir", "Dey", "Asad") needs the day and the year
                let digit_groups = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).count();
                if digit_groups >= 2 || s.len() >= 10 {
                    out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
                }
            }
        }
        if !text.is_ascii() {
            for m in self.japanese_kanji.find_iter(text) {
                out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
            }
        }
        let ordinal_gate = month_hint && ordinal_month_near(lower);
        for m in ordinal_gate.then(|| self.ordinal_of.find_iter(text)).into_iter().flatten() {
            out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
        }
        if birth_cue(lower) {
            for m in self.holiday.find_iter(text) {
                out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
            }
            for m in self.holiday_rel.find_iter(text) {
                out.push(PhiType::Date, m.start(), m.end(), prio::DATE);
            }
        }
    }
}

impl Default for Calendars {
    fn default() -> Self {
        Calendars::new()
    }
}

/// "… of March", "March the …": a month right after "of" or right before "the".
fn ordinal_month_near(lower: &str) -> bool {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let month_at = |s: &str| s.get(..3).is_some_and(|p| MONTHS.contains(&p));
    let after_of = lower.match_indices(" of ").any(|(i, _)| lower.get(i + 4..).is_some_and(month_at));
    let before_the = lower.match_indices(" the ").any(|(i, _)| {
        let head = lower.get(..i).unwrap_or("");
        let w = head.rsplit(' ').next().unwrap_or("");
        month_at(w)
    });
    after_of || before_the
}

/// The message speaks of a birth date: "born", "birth…", "b-day", "bday", "DOB".
fn birth_cue(l: &str) -> bool {
    let b = l.as_bytes();
    b.iter().enumerate().any(|(i, &c)| match c {
        b'b' => {
            let t = &b[i..];
            t.starts_with(b"born") || t.starts_with(b"birth") || t.starts_with(b"bday") || t.starts_with(b"b-day")
        }
        b'd' => b[i..].starts_with(b"dob"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let mut out = Output::default();
        let (lower, shape) = (text.to_ascii_lowercase(), crate::text::Shape::of(text));
        let g = ByteGates::of(text.as_bytes());
        Calendars::new().detect(text, &lower, shape.month_word, &g, &mut out);
        crate::merge::resolve(text, out).iter().map(|c| text[c.start..c.end].to_string()).collect()
    }

    #[test]
    fn day_only_and_ordinal_words() {
        assert_eq!(found("she turns 89 on the 21st, wants to be home"), vec!["21st"]);
        assert_eq!(found("born on the fourth of March 1950, she said"), vec!["fourth of March 1950"]);
        assert_eq!(found("birthday is the 7th of July"), vec!["7th of July"]);
        assert!(found("the 3rd port goes here, 2nd assistant").is_empty());
    }

    #[test]
    fn roman_months_and_eras() {
        assert_eq!(found("DOB 12.IV.1928 per card"), vec!["12.IV.1928"]);
        assert_eq!(found("DOB 昭和8年3月3日"), vec!["昭和8年3月3日"]);
        assert_eq!(found("i.e. Shōwa 8.3.3"), vec!["Shōwa 8.3.3"]);
        assert_eq!(found("DOB H2.11.23 (Heisei 2)"), vec!["H2.11.23"]);
        assert!(found("Vicryl 2-0, grade IV of V, 3 x II").is_empty());
    }

    #[test]
    fn other_calendars() {
        assert_eq!(found("last op on 14 Ramadan 1443 in the city"), vec!["14 Ramadan 1443"]);
        assert_eq!(found("DOB 3 Farvardin 1310 on the passport"), vec!["3 Farvardin 1310"]);
        assert_eq!(found("she wrote 12 Meskerem 1971 (Ethiopian calendar)"), vec!["12 Meskerem 1971"]);
        assert!(found("fasting for Ramadan, NPO since 2").is_empty());
        assert!(found("Tir 5 on the list").is_empty());
    }

    #[test]
    fn holidays_only_as_a_birthday() {
        assert_eq!(found("born Nowruz 1975, he said"), vec!["Nowruz 1975"]);
        assert_eq!(found("her birthday is Christmas Eve"), vec!["Christmas Eve"]);
        assert_eq!(found("DOB: two days after Nowruz"), vec!["two days after Nowruz"]);
        assert!(found("home for Christmas, she hopes").is_empty());
    }
}
