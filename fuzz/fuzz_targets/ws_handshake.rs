#![no_main]
// cargo fuzz run ws_handshake (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::ws_handshake(data));
