#![no_main]
// cargo fuzz run multipart (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::multipart(data));
