#![no_main]
// cargo fuzz run client_frame (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::client_frame(data));
