//! The edge configuration parser (`[vars.EDGE]` as JSON): an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = edge::config::Config::from_json(s);
});
