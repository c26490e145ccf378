#![no_main]
// cargo fuzz run config_toml (docs/FUZZING.md)
libfuzzer_sys::fuzz_target!(|data: &[u8]| orgallery::fuzzing::config_toml(data));
