#![no_main]
// cargo fuzz run jwt (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::jwt(data));
