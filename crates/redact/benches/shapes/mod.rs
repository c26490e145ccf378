//! Adversarial input shapes for the worst-case bench (`benches/worst_case.rs`) and the
//! instruction-count example (`examples/worst_case.rs`). Each shape is a unit repeated to the
//! requested length (cut on a char boundary), so cost per byte across lengths shows linearity.

/// (name, repeated unit)
pub const SHAPES: &[(&str, &str)] = &[
    // the baseline: ordinary OR text
    ("clinical", "Closing the fascia with 0 PDS, skin with 4-0 Monocryl, sharps count correct 8/8, EBL 150 mL. "),
    ("dates", "3/14/57 12-Mar-2020 "),
    ("dates_long", "March 14, 1957 14.03.2020 2020-03-14 Tuesday 14 October "),
    ("digit_dash", "12-34-56-78-90-"),
    ("digit_dash_1", "1-"),
    ("spaced_digits", "1 2 3 4 5 6 7 8 9 0 "),
    ("spaced_pairs", "12 34 56 78 90 "),
    ("digit_slash", "1/2/"),
    ("digit_dot", "1.2."),
    ("digits", "0123456789"),
    ("dates_iso", "2020-03-14 "),
    ("months", "Mar March Jan 14 Oct "),
    ("capitalised", "Ming Fan Benjamin Zaragoza Adaeze Ibekwe Kieran Tsitsinaia "),
    ("cue_words", "Mr. Mrs. born Dr. MRN DOB patient "),
    ("cue_names", "Mr. Fan born 3/14/57 "),
    ("long_token", "abcdefghij0123456789"),
    ("long_alnum_caps", "AB12CD34EF"),
    ("registered", "MR# 431 115 20 FAN, MING (415) 822-6155 "),
    ("unicode", "Benjamín Zaragoza ñandú Ωμέγα 日本語 "),
    ("punct", "(-.-/-:-#-)"),
    ("phones", "(415) 822-6155 +49 (0)151 "),
    ("address", "832 Young Knolls Suite 548, Dukemouth, AK 53021 "),
];

/// `unit` repeated up to `len` bytes.
pub fn make(unit: &str, len: usize) -> String {
    let mut s = String::with_capacity(len + unit.len());
    while s.len() < len {
        s.push_str(unit);
    }
    let mut cut = len.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}
