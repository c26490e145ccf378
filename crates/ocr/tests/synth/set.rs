//! The labelled OCR image set: deterministic from a seed. Kinds: monitor
//! banners, wristbands, specimen labels, whiteboards and photos of screens
//! (affine "perspective", blur, noise, 1920×1080); several DejaVu faces;
//! text from 12 px; light-on-dark and dark-on-light; rotation up to ±10°;
//! JPEG re-encoding at quality 60–90. A fifth of the images carry no PHI
//! (drug names, vitals, eponyms). Every word is labelled with its box and
//! whether it is PHI (and which type); each image lists the identifiers to
//! register for the "with identifiers" condition.

use image::{Rgb, RgbImage};
use orgallery_ocr::Rect;
use serde::{Deserialize, Serialize};

use super::{draw, fill, font};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelWord {
    pub text: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// PHI type ("NAME", "MRN", "DATE") or `None`.
    pub phi: Option<String>,
}

impl LabelWord {
    pub fn rect(&self) -> Rect {
        Rect { x: self.x, y: self.y, w: self.w, h: self.h }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Registered {
    pub names: Vec<String>,
    pub mrns: Vec<String>,
    pub dates: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Labels {
    pub file: String,
    pub kind: String,
    pub width: u32,
    pub height: u32,
    pub words: Vec<LabelWord>,
    pub identifiers: Registered,
}

impl Labels {
    pub fn phi_free(&self) -> bool {
        self.words.iter().all(|w| w.phi.is_none())
    }
}

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    pub fn chance(&mut self, p: f32) -> bool {
        self.range(0.0, 1.0) < p
    }
}

/// Given names and surnames from many cultures, most of them not in the
/// gate's name lists.
const GIVEN: &[&str] = &[
    "Amara",
    "Chinedu",
    "Ngozi",
    "Oluwaseun",
    "Wanjiru",
    "Kwame",
    "Thandiwe",
    "Aiyana",
    "Haruto",
    "Yui",
    "Minjun",
    "Seo-yeon",
    "Wei",
    "Xiaoling",
    "Anh",
    "Thanh",
    "Priya",
    "Arjun",
    "Ananya",
    "Farhan",
    "Aisha",
    "Omar",
    "Layla",
    "Yusuf",
    "Zeynep",
    "Emre",
    "Dariusz",
    "Agnieszka",
    "Ivan",
    "Svetlana",
    "Bjorn",
    "Sigrid",
    "Mateo",
    "Lucia",
    "Joao",
    "Beatriz",
    "Siosaia",
    "Kalani",
    "Tenzin",
    "Pema",
    "Nikolaos",
    "Eleni",
    "Giulia",
    "Lorenzo",
    "Saoirse",
    "Padraig",
    "Mihaela",
    "Bogdan",
    "Kofi",
    "Nia",
    "Ravi",
    "Meera",
    "Dilnoza",
    "Bakhyt",
    "John",
    "Mary",
];
const SURNAMES: &[&str] = &[
    "Okonkwo",
    "Adeyemi",
    "Mwangi",
    "Mensah",
    "Dlamini",
    "Nakamura",
    "Takahashi",
    "Kim",
    "Park",
    "Nguyen",
    "Tran",
    "Zhang",
    "Liu",
    "Chatterjee",
    "Raghunathan",
    "Iyer",
    "Haddad",
    "Khalil",
    "Rahimi",
    "Yilmaz",
    "Ozturk",
    "Kowalczyk",
    "Wisniewska",
    "Ivanova",
    "Petrenko",
    "Lindqvist",
    "Johansson",
    "Fernandez",
    "Oliveira",
    "Goncalves",
    "Fifita",
    "Kahananui",
    "Dorji",
    "Papadopoulos",
    "Esposito",
    "OSullivan",
    "Popescu",
    "Boateng",
    "Achieng",
    "Venkatesan",
    "Tursunova",
    "Nurlanov",
    "Brown",
    "Garcia",
    "Kuznetsov",
    "Abubakar",
    "Salazar",
];
const DRUGS: &[&str] = &[
    "Propofol 150 mg/h",
    "Fentanyl 100 mcg",
    "Rocuronium 50 mg",
    "Sevoflurane 2.1%",
    "Cefazolin 2 g IV",
    "Heparin 5000 IU",
    "Ondansetron 4 mg",
    "Dexamethasone 8 mg",
    "Tranexamic acid 1 g",
    "Noradrenaline 0.05",
    "Remifentanil 0.1",
    "Ketamine 20 mg",
    "Vancomycin 1 g",
    "Metronidazole 500 mg",
    "Paracetamol 1 g",
];
const EPONYMS: &[&str] = &[
    "Pfannenstiel incision",
    "Foley 16Fr",
    "Kocher clamp",
    "Mayo scissors",
    "Trendelenburg position",
    "Allis forceps",
    "Babcock forceps",
    "Langenbeck retractor",
    "McBurney point",
    "Whipple procedure",
    "Nissen fundoplication",
    "Roux-en-Y limb",
    "Hartmann pouch",
    "Lichtenstein repair",
    "Bassini repair",
    "Penrose drain",
    "Jackson-Pratt drain",
    "Deaver retractor",
    "Metzenbaum scissors",
    "Glasgow score 15",
];
const VITALS: &[&str] =
    &["HR 72 BP 120/80", "SpO2 98%", "NIBP 118/76", "EtCO2 35", "Temp 36.6 C", "RR 14", "MAP 85", "BIS 45"];
const PROCEDURES: &[&str] = &[
    "Laparoscopic cholecystectomy",
    "Total knee replacement",
    "Open appendectomy",
    "Caesarean section",
    "Inguinal hernia repair",
    "Thyroidectomy",
    "Carotid endarterectomy",
    "Hip hemiarthroplasty",
];
const FACES: &[&str] = &[
    "DejaVuSans.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSerifCondensed.ttf",
    "DejaVuSansMono-Bold.ttf",
];

pub const KINDS: &[&str] = &["monitor", "wristband", "specimen", "whiteboard", "screen_photo"];

/// A patient: name parts, MRN and DOB in the forms one image shows.
struct Patient {
    given: String,
    surname: String,
    mrn: String,
    dob: (u32, u32, u32),
}

fn patient(r: &mut Rng) -> Patient {
    let mrn = match r.below(3) {
        0 => format!("{:08}", r.below(100_000_000)),
        1 => format!("{:02}-{:03}-{:03}", r.below(100), r.below(1000), r.below(1000)),
        _ => format!("{}{:07}", ["A", "H", "K"][r.below(3) as usize], r.below(10_000_000)),
    };
    Patient {
        given: r.pick(GIVEN).to_string(),
        surname: r.pick(SURNAMES).to_string(),
        mrn,
        dob: (1930 + r.below(80) as u32, 1 + r.below(12) as u32, 1 + r.below(28) as u32),
    }
}

fn dob_text(p: &Patient, r: &mut Rng) -> String {
    let (y, m, d) = p.dob;
    match r.below(3) {
        0 => format!("{m:02}/{d:02}/{y}"),
        1 => format!("{y}-{m:02}-{d:02}"),
        _ => format!("{d:02}.{m:02}.{y}"),
    }
}

/// A canvas and its labelled words.
struct Canvas {
    img: RgbImage,
    words: Vec<LabelWord>,
}

impl Canvas {
    /// Draw `text`; words in `phi` (exact tokens) are labelled with that type.
    #[allow(clippy::too_many_arguments)] // a drawing call: where, how big, what colour, which words are PHI
    fn text(&mut self, face: &str, px: f32, x: f32, y: f32, text: &str, color: [u8; 3], phi: &[(&str, &str)]) {
        let f = font(face);
        for (t, rect) in draw(&mut self.img, &f, px, x, y, text, color) {
            let kind = phi.iter().find(|(w, _)| *w == t).map(|(_, k)| k.to_string());
            self.words.push(LabelWord { text: t, x: rect.x, y: rect.y, w: rect.w, h: rect.h, phi: kind });
        }
    }
}

fn colors(r: &mut Rng, dark_default: bool) -> ([u8; 3], [u8; 3]) {
    let dark = if r.chance(0.25) { !dark_default } else { dark_default };
    let v = r.below(30) as u8;
    if dark {
        ([10 + v, 14 + v, 26 + v], [225 + v, 228 + v, 225 + v])
    } else {
        ([240 - v, 240 - v, 232 - v], [15 + v, 15 + v, 25 + v])
    }
}

/// The name as an image shows it, with its PHI tokens.
fn name_forms(p: &Patient, r: &mut Rng) -> (String, Vec<String>) {
    let up = r.chance(0.5);
    let (g, s) =
        if up { (p.given.to_uppercase(), p.surname.to_uppercase()) } else { (p.given.clone(), p.surname.clone()) };
    if r.chance(0.5) {
        (format!("{s}, {g}"), vec![format!("{s},"), g])
    } else {
        (format!("{g} {s}"), vec![g, s])
    }
}

fn phi_list<'a>(names: &'a [String], mrn: &'a str, dob: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "NAME")).collect();
    v.push((mrn, "MRN"));
    v.push((dob, "DATE"));
    v
}

fn monitor(c: &mut Canvas, r: &mut Rng, p: Option<&Patient>, face: &str, px: f32) {
    let (bg, fg) = colors(r, true);
    let (w, h) = (c.img.width(), c.img.height());
    fill(&mut c.img, Rect { x: 0, y: 0, w, h }, bg);
    let mut y = 16.0;
    if let Some(p) = p {
        let (name, toks) = name_forms(p, r);
        let dob = dob_text(p, r);
        let phi = phi_list(&toks, &p.mrn, &dob);
        let label = r.pick(&["Patient:", "Name:", "Pt:"]);
        c.text(face, px, 20.0, y, &format!("{label} {name}"), fg, &phi);
        c.text(face, px, w as f32 * 0.55, y, &format!("MRN: {}", p.mrn), fg, &phi);
        y += px * 1.6;
        c.text(face, px * 0.85, 20.0, y, &format!("DOB: {dob}"), fg, &phi);
        y += px * 1.8;
    }
    let green = [60, 220, 90];
    c.text("DejaVuSansMono.ttf", px * 1.4, 20.0, y, r.pick(VITALS), green, &[]);
    y += px * 2.0;
    c.text("DejaVuSansMono.ttf", px * 1.2, 20.0, y, r.pick(VITALS), [230, 80, 70], &[]);
    y += px * 2.0;
    if (y + px * 3.0) < h as f32 {
        c.text(face, px, 20.0, y, r.pick(DRUGS), fg, &[]);
        y += px * 1.6;
    }
    if (y + px * 2.0) < h as f32 {
        c.text(face, px, 20.0, y, r.pick(DRUGS), fg, &[]);
    }
}

fn wristband(c: &mut Canvas, r: &mut Rng, p: Option<&Patient>, face: &str, px: f32) {
    let (bg, fg) = colors(r, false);
    let (w, h) = (c.img.width(), c.img.height());
    fill(&mut c.img, Rect { x: 0, y: 0, w, h }, bg);
    let mut y = 12.0;
    if let Some(p) = p {
        let (name, toks) = name_forms(p, r);
        let dob = dob_text(p, r);
        let phi = phi_list(&toks, &p.mrn, &dob);
        c.text(face, px * 1.2, 16.0, y, &name, fg, &phi);
        y += px * 1.8;
        c.text(face, px, 16.0, y, &format!("DOB {dob}   MRN {}", p.mrn), fg, &phi);
        y += px * 1.6;
    } else {
        c.text(face, px * 1.2, 16.0, y, "ALLERGY ALERT", fg, &[]);
        y += px * 1.8;
    }
    c.text(
        face,
        px,
        16.0,
        y,
        &format!("Allergy: {}", r.pick(&["Penicillin", "Latex", "None known", "Iodine"])),
        fg,
        &[],
    );
}

fn specimen(c: &mut Canvas, r: &mut Rng, p: Option<&Patient>, face: &str, px: f32) {
    let (bg, fg) = colors(r, false);
    let (w, h) = (c.img.width(), c.img.height());
    fill(&mut c.img, Rect { x: 0, y: 0, w, h }, bg);
    let mut y = 12.0;
    c.text(face, px, 16.0, y, r.pick(&["SPECIMEN", "HISTOLOGY", "Pathology request"]), fg, &[]);
    y += px * 1.6;
    if let Some(p) = p {
        let (name, toks) = name_forms(p, r);
        let dob = dob_text(p, r);
        let phi = phi_list(&toks, &p.mrn, &dob);
        c.text(face, px, 16.0, y, &format!("Name: {name}"), fg, &phi);
        y += px * 1.6;
        c.text(face, px, 16.0, y, &format!("Hosp No: {}", p.mrn), fg, &phi);
        y += px * 1.6;
        c.text(face, px, 16.0, y, &format!("DOB: {dob}"), fg, &phi);
        y += px * 1.6;
    }
    c.text(
        face,
        px,
        16.0,
        y,
        &format!("Site: {}", r.pick(&["Gallbladder", "Appendix", "Sentinel node", "Thyroid"])),
        fg,
        &[],
    );
    y += px * 1.6;
    if y + px * 1.6 < h as f32 {
        c.text(face, px, 16.0, y, r.pick(&["Formalin 10%", "Fresh frozen", "Saline"]), fg, &[]);
    }
}

fn whiteboard(c: &mut Canvas, r: &mut Rng, p: Option<&Patient>, face: &str, px: f32) {
    let (w, h) = (c.img.width(), c.img.height());
    fill(&mut c.img, Rect { x: 0, y: 0, w, h }, [238, 240, 236]);
    let ink = r.pick(&[[20u8, 40, 140], [15, 15, 15], [20, 110, 40]]);
    let mut y = 20.0;
    c.text(face, px * 1.3, 30.0, y, &format!("OR {}", 1 + r.below(9)), ink, &[]);
    y += px * 2.0;
    if let Some(p) = p {
        let (name, toks) = name_forms(p, r);
        let phi = phi_list(&toks, &p.mrn, "");
        c.text(face, px, 30.0, y, &format!("Pt: {name}"), ink, &phi);
        y += px * 1.7;
    }
    c.text(face, px, 30.0, y, r.pick(PROCEDURES), ink, &[]);
    y += px * 1.7;
    c.text(face, px, 30.0, y, r.pick(EPONYMS), ink, &[]);
    y += px * 1.7;
    if y + px * 1.7 < h as f32 {
        c.text(face, px, 30.0, y, r.pick(EPONYMS), ink, &[]);
        y += px * 1.7;
    }
    if y + px * 1.7 < h as f32 {
        c.text(face, px, 30.0, y, r.pick(DRUGS), ink, &[]);
    }
}

/// Inverse-mapped affine warp (bilinear): `m` maps output (x, y, 1) to
/// source coordinates. Pixels outside the source get `bg`.
pub fn warp(src: &RgbImage, m: [f32; 6], w: u32, h: u32, bg: [u8; 3]) -> RgbImage {
    let mut out = RgbImage::from_pixel(w, h, Rgb(bg));
    let (sw, sh) = (src.width() as f32, src.height() as f32);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let sx = m[0] * fx + m[1] * fy + m[2] - 0.5;
            let sy = m[3] * fx + m[4] * fy + m[5] - 0.5;
            if sx < 0.0 || sy < 0.0 || sx >= sw - 1.0 || sy >= sh - 1.0 {
                continue;
            }
            let (x0, y0) = (sx as u32, sy as u32);
            let (ax, ay) = (sx - x0 as f32, sy - y0 as f32);
            let p = |dx: u32, dy: u32| src.get_pixel(x0 + dx, y0 + dy).0;
            let (a, b, c, d) = (p(0, 0), p(1, 0), p(0, 1), p(1, 1));
            let mut v = [0u8; 3];
            for i in 0..3 {
                let top = f32::from(a[i]) * (1.0 - ax) + f32::from(b[i]) * ax;
                let bot = f32::from(c[i]) * (1.0 - ax) + f32::from(d[i]) * ax;
                v[i] = (top * (1.0 - ay) + bot * ay).round() as u8;
            }
            out.put_pixel(x, y, Rgb(v));
        }
    }
    out
}

/// Inverse of the 2×3 affine `m` (output→source) applied to a source point:
/// where the point lands in the output.
fn forward(m: [f32; 6], sx: f32, sy: f32) -> (f32, f32) {
    let det = m[0] * m[4] - m[1] * m[3];
    let (px, py) = (sx - m[2], sy - m[5]);
    ((m[4] * px - m[1] * py) / det, (-m[3] * px + m[0] * py) / det)
}

/// Word boxes after a warp: the bounding box of the moved corners. A word
/// that does not land wholly inside the output is dropped from the labels
/// (cut off by the frame, it cannot be read, so no mask can be asked for).
fn warp_words(words: &mut Vec<LabelWord>, m: [f32; 6], w: u32, h: u32) {
    words.retain_mut(|lw| {
        let r = lw.rect();
        let corners = [(r.x, r.y), (r.right(), r.y), (r.x, r.bottom()), (r.right(), r.bottom())]
            .map(|(x, y)| forward(m, x as f32, y as f32));
        let x0 = corners.iter().map(|c| c.0).fold(f32::MAX, f32::min).floor();
        let y0 = corners.iter().map(|c| c.1).fold(f32::MAX, f32::min).floor();
        let x1 = corners.iter().map(|c| c.0).fold(f32::MIN, f32::max).ceil();
        let y1 = corners.iter().map(|c| c.1).fold(f32::MIN, f32::max).ceil();
        if x0 < 0.0 || y0 < 0.0 || x1 > w as f32 || y1 > h as f32 {
            return false;
        }
        lw.x = x0 as u32;
        lw.y = y0 as u32;
        lw.w = ((x1 - x0) as u32).max(1);
        lw.h = ((y1 - y0) as u32).max(1);
        true
    });
}

/// Rotation by `deg` of a `w`×`h` image onto the canvas that holds all of
/// it (as a photo taken at a slant would), as an output→source affine, with
/// that canvas's size.
fn rotation(deg: f32, w: u32, h: u32) -> ([f32; 6], u32, u32) {
    let (s, c) = deg.to_radians().sin_cos();
    let (ow, oh) = (
        (w as f32 * c.abs() + h as f32 * s.abs()).ceil() as u32,
        (w as f32 * s.abs() + h as f32 * c.abs()).ceil() as u32,
    );
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (ox, oy) = (ow as f32 / 2.0, oh as f32 / 2.0);
    // source = R(-deg) (out - out centre) + source centre
    ([c, s, cx - c * ox - s * oy, -s, c, cy + s * ox - c * oy], ow, oh)
}

fn box_blur(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width(), img.height());
    let mut out = img.clone();
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let mut acc = [0u32; 3];
            for dy in 0..3 {
                for dx in 0..3 {
                    let p = img.get_pixel(x + dx - 1, y + dy - 1).0;
                    for i in 0..3 {
                        acc[i] += u32::from(p[i]);
                    }
                }
            }
            out.put_pixel(x, y, Rgb(acc.map(|a| (a / 9) as u8)));
        }
    }
    out
}

fn noise(img: &mut RgbImage, r: &mut Rng, amp: i32) {
    for p in img.pixels_mut() {
        let n = (r.below(2 * amp as u64 + 1) as i32) - amp;
        for v in p.0.iter_mut() {
            *v = (i32::from(*v) + n).clamp(0, 255) as u8;
        }
    }
}

/// One labelled image: the encoded file and its labels.
pub struct Sample {
    pub bytes: Vec<u8>,
    pub labels: Labels,
}

/// Image `index` of the set generated from `seed`.
pub fn sample(seed: u64, index: u32) -> Sample {
    let mut r = Rng::new(seed ^ (u64::from(index) << 32) ^ 0x5EED);
    let kind = KINDS[(index as usize) % KINDS.len()];
    // Every fifth image of each kind carries no PHI.
    let phi = (index / KINDS.len() as u32) % 5 != 4;
    let p = phi.then(|| patient(&mut r));
    let face = r.pick(FACES);
    let (w, h, px) = match kind {
        "monitor" => (r.pick(&[960u32, 1280]), 540 + r.below(3) as u32 * 90, r.range(14.0, 34.0)),
        "wristband" => (720 + r.below(300) as u32, 170 + r.below(60) as u32, r.range(12.0, 24.0)),
        "specimen" => (600 + r.below(200) as u32, 300 + r.below(80) as u32, r.range(12.0, 22.0)),
        "whiteboard" => (1024, 640 + r.below(120) as u32, r.range(24.0, 44.0)),
        _ => (960, 540, r.range(20.0, 32.0)),
    };
    let mut c = Canvas { img: RgbImage::new(w, h), words: Vec::new() };
    match kind {
        "monitor" | "screen_photo" => monitor(&mut c, &mut r, p.as_ref(), face, px),
        "wristband" => wristband(&mut c, &mut r, p.as_ref(), face, px),
        "specimen" => specimen(&mut c, &mut r, p.as_ref(), face, px),
        _ => whiteboard(&mut c, &mut r, p.as_ref(), face, px),
    }
    let (mut img, mut words) = (c.img, c.words);
    let bg = *img.get_pixel(0, 0);
    if kind == "screen_photo" {
        // The screen photographed: scaled into a 1920×1080 frame, sheared a
        // little (a cheap perspective), blurred and noisy.
        let (ow, oh) = (1920, 1080);
        let scale = r.range(1.3, 1.8);
        let shear = r.range(-0.06, 0.06);
        let rot = r.range(-6.0, 6.0).to_radians();
        let (s, co) = rot.sin_cos();
        let (a, b, d, e) = (co / scale, (s + shear) / scale, -s / scale, co / scale);
        let (tx, ty) = (r.range(60.0, 240.0), r.range(60.0, 180.0));
        let m = [a, b, -(a * tx + b * ty), d, e, -(d * tx + e * ty)];
        img = warp(&img, m, ow, oh, [40, 38, 36]);
        warp_words(&mut words, m, ow, oh);
        img = box_blur(&img);
        noise(&mut img, &mut r, 10);
    } else if r.chance(0.5) {
        let deg = r.range(-10.0, 10.0);
        let (m, rw, rh) = rotation(deg, w, h);
        img = warp(&img, m, rw, rh, bg.0);
        warp_words(&mut words, m, rw, rh);
        if r.chance(0.3) {
            img = box_blur(&img);
        }
    }
    if r.chance(0.5) {
        noise(&mut img, &mut r, 6);
    }
    let quality = 60 + r.below(31) as u8;
    let png = r.chance(0.2) && kind != "screen_photo";
    let mut bytes = Vec::new();
    if png {
        // Even the PNGs went through a JPEG once (screenshots of JPEGs).
        let mut j = Vec::new();
        let ok = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut j, quality).encode_image(&img).is_ok();
        if ok {
            if let Ok(d) = image::load_from_memory(&j) {
                img = d.to_rgb8();
            }
        }
        let _ = img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png);
    } else {
        let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(&img);
    }
    let ext = if png { "png" } else { "jpg" };
    let identifiers = match &p {
        Some(p) => {
            let (y, m, d) = p.dob;
            Registered {
                names: vec![format!("{} {}", p.given, p.surname)],
                mrns: vec![p.mrn.clone()],
                dates: vec![format!("{y}-{m:02}-{d:02}")],
            }
        }
        None => Registered::default(),
    };
    words.retain(|w| w.w > 0 && w.h > 0);
    Sample {
        bytes,
        labels: Labels {
            file: format!("{index:04}-{kind}.{ext}"),
            kind: kind.to_string(),
            width: img.width(),
            height: img.height(),
            words,
            identifiers,
        },
    }
}
