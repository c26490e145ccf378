#![no_main]
// cargo fuzz run redact (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::redact(data));
