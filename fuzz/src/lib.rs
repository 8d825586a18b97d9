//! Shared checks of the scanner targets: a stylesheet or script is scanned, every reference is
//! resolved against a tree that holds whatever it names, rewritten to a fingerprinted name, and
//! the output scanned again.

use asset_builder::fingerprint::fingerprinted_name;
use asset_builder::reference::{resolve, Target};
use asset_builder::rewrite::{apply, find_refs, Scan};

/// The referring file's logical path.
pub const FROM: &str = "dir/sub/file";

/// What the scanners promise: references sorted, disjoint and inside the input; doubts inside.
pub fn check_scan(bytes: &[u8], scan: &Scan) {
    let mut end = 0;
    for r in &scan.refs {
        assert!(
            r.span.start >= end,
            "overlapping or unsorted: {:?}",
            scan.refs
        );
        assert!(r.span.start <= r.span.end && r.span.end <= bytes.len());
        end = r.span.end;
    }
    for u in &scan.unclassified {
        assert!(u.at <= bytes.len());
    }
}

/// Scans `bytes` as a file with extension `ext`, rewrites every reference that resolves, and
/// checks: a rewrite to the same name changes nothing; a rewrite to fingerprinted names keeps
/// every reference in place and makes it resolve to the fingerprinted file.
pub fn check_rewrite(ext: &str, bytes: &[u8]) {
    let from = format!("{FROM}.{ext}");
    let scan = find_refs(ext, bytes);
    check_scan(bytes, &scan);
    let mut same = Vec::new();
    let mut renamed = Vec::new();
    let mut expected = Vec::new();
    for r in &scan.refs {
        let Ok(spec) = std::str::from_utf8(&bytes[r.span.clone()]) else {
            expected.push(None);
            continue;
        };
        match resolve(&from, spec, r.kind) {
            Target::File(f) => {
                same.push((r.span.clone(), f.rewrite(spec, f.file_name())));
                let published = fingerprinted_name(f.file_name(), "0123456789abcdef");
                let new = f.rewrite(spec, &published);
                let dir = f.path.rsplit_once('/').map(|(d, _)| d);
                let want = match dir {
                    Some(d) => format!("{d}/{published}"),
                    None => published.clone(),
                };
                renamed.push((r.span.clone(), new));
                expected.push(Some(want));
            }
            _ => expected.push(None),
        }
    }
    let unchanged = apply(bytes, &same).expect("scanner spans are disjoint");
    assert_eq!(
        unchanged, bytes,
        "rewriting to the same names changed the file"
    );

    let out = apply(bytes, &renamed).expect("scanner spans are disjoint");
    let again = find_refs(ext, &out);
    check_scan(&out, &again);
    assert_eq!(
        again.refs.len(),
        scan.refs.len(),
        "rewriting changed which references are found:\n{:?}\n{:?}",
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&out)
    );
    for ((r, want), before) in again.refs.iter().zip(&expected).zip(&scan.refs) {
        assert_eq!(r.kind, before.kind);
        let spec = std::str::from_utf8(&out[r.span.clone()]);
        match want {
            Some(want) => {
                let spec = spec.expect("a rewritten reference is UTF-8");
                match resolve(&from, spec, r.kind) {
                    Target::File(f) => assert_eq!(&f.path, want, "{spec}"),
                    other => panic!("{spec} now resolves to {other:?}, wanted {want}"),
                }
            }
            None => assert_eq!(&out[r.span.clone()], &bytes[before.span.clone()]),
        }
    }
}
