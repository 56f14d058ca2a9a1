//! Fuzzes the parser of PagerDuty Events API v2 bodies; see `firebreak_fuzz` for what it asserts.

#![no_main]

libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    firebreak_fuzz::check_pagerduty(body);
});
