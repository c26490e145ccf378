#![no_main]
// cargo fuzz run image (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::image(data));
