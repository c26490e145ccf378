//! OCR of text burned into images, for orgallery's redaction gate.
//!
//! * [`ffi`]: the Tesseract 5 C API, loaded at runtime (`libtesseract.so.5`)
//!   through a small safe wrapper;
//! * [`Pool`]: a bounded set of initialised engines (one per core), used from
//!   blocking threads, never from the async runtime;
//! * [`preprocess`]: grayscale, upscaling of small images, an inverted pass for
//!   light-on-dark screens;
//! * [`group_lines`]: word boxes grouped into reading lines, so a line's text
//!   can go through the text redactor and matches mapped back to word boxes;
//! * [`mask_rects`]: padded rectangles covering chosen words.

pub mod deskew;
mod ffi;
mod lines;
mod phi;
pub mod preprocess;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use image::{DynamicImage, GrayImage};

pub use lines::{group_lines, mask_rects, Line};
pub use orgallery_redact::{Identifiers, Redactor};
pub use phi::{find_phi, OcrMask, OcrPatient, LOW_CONFIDENCE};
pub use preprocess::Preprocess;

/// Debian's libtesseract parallelises its recogniser with OpenMP. [`Pool`]
/// already runs one engine per core, so OpenMP's extra threads only
/// oversubscribe the cores and spin-wait: on this 2-core machine a 1920×1080
/// photo took 1,411 ms of CPU with them and 274 ms without (docs/REDACTION.md).
/// This sets `OMP_THREAD_LIMIT=1` unless the environment already sets it;
/// libgomp reads it when libtesseract is loaded ([`Pool::new`]).
///
/// # Safety
/// Changes the process environment: call it at the start of `main`, before
/// any other thread exists (no other thread may read the environment).
pub unsafe fn limit_openmp_threads() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn right(&self) -> u32 {
        self.x.saturating_add(self.w)
    }
    pub fn bottom(&self) -> u32 {
        self.y.saturating_add(self.h)
    }
    pub fn area(&self) -> u64 {
        u64::from(self.w) * u64::from(self.h)
    }
    /// Area of the intersection with `o`.
    pub fn overlap(&self, o: &Rect) -> u64 {
        let w = self.right().min(o.right()).saturating_sub(self.x.max(o.x));
        let h = self.bottom().min(o.bottom()).saturating_sub(self.y.max(o.y));
        u64::from(w) * u64::from(h)
    }
}

/// One recognised word: text, Tesseract's confidence (0–100) and its box in
/// the pixels of the image handed to [`Pool::recognize`].
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub conf: f32,
    pub rect: Rect,
}

#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// libtesseract could not be loaded or lacks a symbol.
    #[error("{0}")]
    Library(String),
    /// The language pack is missing or unreadable.
    #[error("{0}")]
    Language(String),
    #[error("bad image for OCR: {0}")]
    Image(String),
    #[error("{0}")]
    Engine(String),
}

/// How to start the engines.
#[derive(Debug, Clone)]
pub struct Config {
    /// Shared object to dlopen. Default `libtesseract.so.5`.
    pub library: String,
    /// Directory holding `<lang>.traineddata`; `None` = Tesseract's default.
    pub tessdata: Option<PathBuf>,
    /// Language, default `eng`.
    pub lang: String,
    /// Engines (= concurrent recognitions). Default: available cores.
    pub engines: usize,
    pub preprocess: Preprocess,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            library: "libtesseract.so.5".into(),
            tessdata: None,
            lang: "eng".into(),
            engines: std::thread::available_parallelism().map_or(1, |n| n.get()),
            preprocess: Preprocess::default(),
        }
    }
}

/// A bounded pool of Tesseract engines. [`Pool::recognize`] blocks until an
/// engine is free: call it from a blocking thread (`spawn_blocking`).
pub struct Pool {
    /// Idle engines and how many exist (at most `max`).
    free: Mutex<(Vec<ffi::Handle>, usize)>,
    max: usize,
    lib: Arc<ffi::Lib>,
    tessdata: Option<PathBuf>,
    lang: String,
    ready: Condvar,
    preprocess: Preprocess,
    version: String,
}

impl Pool {
    /// Load the library and initialise one engine now, so a missing library
    /// or language pack is a startup error; the others (up to
    /// [`Config::engines`]) start when first needed.
    pub fn new(config: &Config) -> Result<Arc<Pool>, OcrError> {
        let lib = ffi::Lib::load(&config.library)?;
        let version = lib.version();
        let first = ffi::Handle::new(lib.clone(), config.tessdata.as_deref(), &config.lang)?;
        Ok(Arc::new(Pool {
            free: Mutex::new((vec![first], 1)),
            max: config.engines.max(1),
            lib,
            tessdata: config.tessdata.clone(),
            lang: config.lang.clone(),
            ready: Condvar::new(),
            preprocess: config.preprocess,
            version,
        }))
    }

    /// Tesseract's version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Words in `gray` (boxes in its pixels), after [`Preprocess`].
    pub fn recognize(&self, gray: &GrayImage) -> Result<Vec<Word>, OcrError> {
        let mut engine = self.checkout()?;
        let r = self.preprocess.run(gray, &mut |img| engine.recognize_gray(img.as_raw(), img.width(), img.height()));
        self.checkin(engine);
        r
    }

    /// Run with an explicit preprocessing (for measurements).
    pub fn recognize_with(&self, gray: &GrayImage, pre: Preprocess) -> Result<Vec<Word>, OcrError> {
        let mut engine = self.checkout()?;
        let r = pre.run(gray, &mut |img| engine.recognize_gray(img.as_raw(), img.width(), img.height()));
        self.checkin(engine);
        r
    }

    /// Words in a decoded (upright) image: grayscale once, then
    /// [`Pool::recognize`]. The first half of [`propose_masks`].
    pub fn read_image(&self, img: &DynamicImage) -> Result<Vec<Word>, OcrError> {
        self.recognize(&img.to_luma8())
    }

    fn checkout(&self) -> Result<ffi::Handle, OcrError> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(h) = free.0.pop() {
                return Ok(h);
            }
            if free.1 < self.max {
                free.1 += 1;
                drop(free);
                let h = ffi::Handle::new(self.lib.clone(), self.tessdata.as_deref(), &self.lang);
                if h.is_err() {
                    self.free.lock().unwrap_or_else(|p| p.into_inner()).1 -= 1;
                }
                return h;
            }
            free = self.ready.wait(free).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn checkin(&self, h: ffi::Handle) {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).0.push(h);
        self.ready.notify_one();
    }
}

/// What the image upload runs on every decoded image: OCR, then
/// [`find_phi`] with the session's patient. The server and the scorer
/// (`examples/ocr_score.rs`) both call this.
pub fn propose_masks(
    pool: &Pool,
    redactor: &Redactor,
    patient: Option<&OcrPatient>,
    img: &DynamicImage,
) -> Result<Vec<OcrMask>, OcrError> {
    let words = pool.read_image(img)?;
    Ok(find_phi(words, redactor, patient, img.width(), img.height()))
}
