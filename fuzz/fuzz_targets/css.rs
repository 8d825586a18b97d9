//! The CSS scanner and rewriter (see `check_rewrite`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| symfony_edge_fuzz::check_rewrite("css", data));
