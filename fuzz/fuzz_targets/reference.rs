//! The reference resolver: `<kind byte><from path>\n<specifier>`. A resolved file reference
//! rewritten to its own name is unchanged; rewritten to a fingerprinted name it keeps its
//! directories, query and fragment and resolves to the fingerprinted file.
#![no_main]
use asset_builder::fingerprint::fingerprinted_name;
use asset_builder::reference::{resolve, Target};
use asset_builder::rewrite::RefKind;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (from, spec) = text.split_once('\n').unwrap_or(("a/b.css", text));
    let kinds = [
        RefKind::CssUrl,
        RefKind::CssImport,
        RefKind::JsImport,
        RefKind::JsUrl,
        RefKind::SourceMap,
    ];
    let kind = kinds[k as usize % kinds.len()];
    let Target::File(f) = resolve(from, spec, kind) else {
        return;
    };
    assert!(spec.get(f.last.clone()).is_some(), "{f:?}");
    assert_eq!(f.rewrite(spec, f.file_name()), spec);
    let published = fingerprinted_name(f.file_name(), "00ff00ff00ff00ff");
    let new = f.rewrite(spec, &published);
    assert_eq!(
        &new[..f.last.start],
        &spec[..f.last.start],
        "directories kept"
    );
    let tail = &spec[f.last.end..];
    assert!(
        new.ends_with(tail),
        "query and fragment kept: {spec} -> {new}"
    );
    match resolve(from, &new, kind) {
        Target::File(g) => {
            let want = match f.path.rsplit_once('/') {
                Some((d, _)) => format!("{d}/{published}"),
                None => published,
            };
            assert_eq!(g.path, want, "{spec} -> {new}");
        }
        other => panic!("{spec} -> {new}: {other:?}"),
    }
});
