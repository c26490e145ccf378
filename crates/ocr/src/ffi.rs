//! The Tesseract 5 C API (`tesseract/capi.h`), loaded at runtime from
//! `libtesseract.so.5` with `libloading`. Only the handful of calls we need
//! are bound; everything `unsafe` lives in this file.

use std::ffi::{c_char, c_float, c_int, c_uchar, c_void, CStr, CString};
use std::path::Path;
use std::sync::Arc;

use libloading::Library;

use crate::{OcrError, Rect, Word};

type Api = c_void;
type ResultIt = c_void;
type PageIt = c_void;

/// `TessPageIteratorLevel`.
const RIL_WORD: c_int = 3;
/// `TessPageSegMode::PSM_SPARSE_TEXT`: find as much text as possible in no
/// particular order (screens, labels and photographs are not pages).
pub(crate) const PSM_SPARSE_TEXT: c_int = 11;

/// Function pointers copied out of the library; valid while `_lib` lives.
pub(crate) struct Lib {
    create: unsafe extern "C" fn() -> *mut Api,
    delete: unsafe extern "C" fn(*mut Api),
    init3: unsafe extern "C" fn(*mut Api, *const c_char, *const c_char) -> c_int,
    set_psm: unsafe extern "C" fn(*mut Api, c_int),
    set_variable: unsafe extern "C" fn(*mut Api, *const c_char, *const c_char) -> c_int,
    set_image: unsafe extern "C" fn(*mut Api, *const c_uchar, c_int, c_int, c_int, c_int),
    set_resolution: unsafe extern "C" fn(*mut Api, c_int),
    recognize: unsafe extern "C" fn(*mut Api, *mut c_void) -> c_int,
    get_iterator: unsafe extern "C" fn(*mut Api) -> *mut ResultIt,
    clear: unsafe extern "C" fn(*mut Api),
    it_delete: unsafe extern "C" fn(*mut ResultIt),
    it_next: unsafe extern "C" fn(*mut ResultIt, c_int) -> c_int,
    it_text: unsafe extern "C" fn(*const ResultIt, c_int) -> *mut c_char,
    it_conf: unsafe extern "C" fn(*const ResultIt, c_int) -> c_float,
    it_page: unsafe extern "C" fn(*const ResultIt) -> *const PageIt,
    page_bbox: unsafe extern "C" fn(*const PageIt, c_int, *mut c_int, *mut c_int, *mut c_int, *mut c_int) -> c_int,
    delete_text: unsafe extern "C" fn(*const c_char),
    version: unsafe extern "C" fn() -> *const c_char,
    _lib: Library,
}

macro_rules! sym {
    ($lib:expr, $name:literal) => {
        // SAFETY: the signature matches tesseract/capi.h for Tesseract 5.
        *unsafe { $lib.get($name) }.map_err(|e| {
            OcrError::Library(format!("{} not found in libtesseract: {e}", String::from_utf8_lossy($name)))
        })?
    };
}

impl Lib {
    pub(crate) fn load(name: &str) -> Result<Arc<Lib>, OcrError> {
        // SAFETY: loading libtesseract runs its (well-behaved) initialisers only.
        let lib = unsafe { Library::new(name) }
            .map_err(|e| OcrError::Library(format!("cannot load {name} (install tesseract-ocr): {e}")))?;
        Ok(Arc::new(Lib {
            create: sym!(lib, b"TessBaseAPICreate"),
            delete: sym!(lib, b"TessBaseAPIDelete"),
            init3: sym!(lib, b"TessBaseAPIInit3"),
            set_psm: sym!(lib, b"TessBaseAPISetPageSegMode"),
            set_variable: sym!(lib, b"TessBaseAPISetVariable"),
            set_image: sym!(lib, b"TessBaseAPISetImage"),
            set_resolution: sym!(lib, b"TessBaseAPISetSourceResolution"),
            recognize: sym!(lib, b"TessBaseAPIRecognize"),
            get_iterator: sym!(lib, b"TessBaseAPIGetIterator"),
            clear: sym!(lib, b"TessBaseAPIClear"),
            it_delete: sym!(lib, b"TessResultIteratorDelete"),
            it_next: sym!(lib, b"TessResultIteratorNext"),
            it_text: sym!(lib, b"TessResultIteratorGetUTF8Text"),
            it_conf: sym!(lib, b"TessResultIteratorConfidence"),
            it_page: sym!(lib, b"TessResultIteratorGetPageIteratorConst"),
            page_bbox: sym!(lib, b"TessPageIteratorBoundingBox"),
            delete_text: sym!(lib, b"TessDeleteText"),
            version: sym!(lib, b"TessVersion"),
            _lib: lib,
        }))
    }

    pub(crate) fn version(&self) -> String {
        // SAFETY: TessVersion returns a static NUL-terminated string.
        let p = unsafe { (self.version)() };
        if p.is_null() {
            return String::new();
        }
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// One initialised `TessBaseAPI`. Not `Sync`: one thread uses it at a time.
pub(crate) struct Handle {
    lib: Arc<Lib>,
    api: *mut Api,
}

// SAFETY: a TessBaseAPI has no thread affinity; `&mut self` on every call
// guarantees exclusive use.
unsafe impl Send for Handle {}

impl Handle {
    pub(crate) fn new(lib: Arc<Lib>, tessdata: Option<&Path>, lang: &str) -> Result<Handle, OcrError> {
        let lang_c = CString::new(lang).map_err(|_| OcrError::Language(lang.into()))?;
        let data_c = match tessdata {
            Some(p) => Some(
                CString::new(p.to_string_lossy().as_bytes())
                    .map_err(|_| OcrError::Library("tessdata path contains NUL".into()))?,
            ),
            None => None,
        };
        // SAFETY: plain constructor.
        let api = unsafe { (lib.create)() };
        if api.is_null() {
            return Err(OcrError::Library("TessBaseAPICreate returned null".into()));
        }
        let h = Handle { lib, api };
        let data_ptr = data_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: api is valid; strings are NUL-terminated and outlive the call.
        let rc = unsafe { (h.lib.init3)(h.api, data_ptr, lang_c.as_ptr()) };
        if rc != 0 {
            return Err(OcrError::Language(format!(
                "Tesseract could not load language '{lang}' from {} (install tesseract-ocr-{lang})",
                tessdata.map_or_else(|| "the default tessdata".into(), |p| p.display().to_string())
            )));
        }
        // SAFETY: api is initialised.
        unsafe { (h.lib.set_psm)(h.api, PSM_SPARSE_TEXT) };
        // Tesseract's debug chatter goes nowhere (it can echo recognised text).
        let (k, v) = (c"debug_file", c"/dev/null");
        // SAFETY: as above.
        unsafe { (h.lib.set_variable)(h.api, k.as_ptr(), v.as_ptr()) };
        Ok(h)
    }

    /// Recognise an 8-bit grayscale image (`pixels.len() == width*height`).
    /// Boxes are in the given image's pixels.
    pub(crate) fn recognize_gray(&mut self, pixels: &[u8], width: u32, height: u32) -> Result<Vec<Word>, OcrError> {
        let (w, h) = (c_int::try_from(width), c_int::try_from(height));
        let (Ok(w), Ok(h)) = (w, h) else { return Err(OcrError::Image("image too large".into())) };
        if pixels.len() as u64 != u64::from(width) * u64::from(height) || w == 0 || h == 0 {
            return Err(OcrError::Image("pixel buffer does not match its size".into()));
        }
        let lib = &self.lib;
        // SAFETY: the buffer is width*height bytes and outlives Recognize
        // (Tesseract copies it in SetImage anyway); api is initialised.
        let rc = unsafe {
            (lib.set_image)(self.api, pixels.as_ptr(), w, h, 1, w);
            (lib.set_resolution)(self.api, 150);
            (lib.recognize)(self.api, std::ptr::null_mut())
        };
        if rc != 0 {
            // SAFETY: api is valid.
            unsafe { (lib.clear)(self.api) };
            return Err(OcrError::Engine("Tesseract recognition failed".into()));
        }
        let mut words = Vec::new();
        // SAFETY: api is valid; the iterator is deleted below.
        let it = unsafe { (lib.get_iterator)(self.api) };
        if !it.is_null() {
            loop {
                // SAFETY: it is a valid iterator for this api.
                let text_p = unsafe { (lib.it_text)(it, RIL_WORD) };
                if !text_p.is_null() {
                    let text = unsafe { CStr::from_ptr(text_p) }.to_string_lossy().into_owned();
                    unsafe { (lib.delete_text)(text_p) };
                    let conf = unsafe { (lib.it_conf)(it, RIL_WORD) };
                    let page = unsafe { (lib.it_page)(it) };
                    let (mut l, mut t, mut r, mut b) = (0, 0, 0, 0);
                    let ok = !page.is_null()
                        && unsafe { (lib.page_bbox)(page, RIL_WORD, &mut l, &mut t, &mut r, &mut b) } != 0;
                    let text = text.trim().to_string();
                    if ok && !text.is_empty() && r > l && b > t && l >= 0 && t >= 0 {
                        words.push(Word {
                            text,
                            conf,
                            rect: Rect { x: l as u32, y: t as u32, w: (r - l) as u32, h: (b - t) as u32 },
                        });
                    }
                }
                if unsafe { (lib.it_next)(it, RIL_WORD) } == 0 {
                    break;
                }
            }
            unsafe { (lib.it_delete)(it) };
        }
        // SAFETY: api is valid; frees the image and results.
        unsafe { (lib.clear)(self.api) };
        Ok(words)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: api came from TessBaseAPICreate and is dropped once.
        unsafe { (self.lib.delete)(self.api) };
    }
}
