#![no_main]
// cargo fuzz run sdp_fragment (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::sdp_fragment(data));
