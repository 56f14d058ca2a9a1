//! Fuzzes the parser of Alertmanager webhook bodies; see `firebreak_fuzz` for what it asserts.

#![no_main]

libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    firebreak_fuzz::check_webhook(body, firebreak_ingest::alertmanager::parse);
});
