#![no_main]
// cargo fuzz run sdp_offer (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::sdp_offer(data));
