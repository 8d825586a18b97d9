//! Stage 2, resolve: the references in each CSS/JS file, each resolved to a file of the tree.
//!
//! A reference that names no file of the tree, and a possible reference the scanner could not
//! classify, is a warning (an error with `--strict`) naming the file; neither is ever skipped
//! silently.

use std::collections::HashMap;
use std::ops::Range;

use rayon::prelude::*;

use super::file_name;
use super::read::Sources;
use crate::content_type;
use crate::error::{BuildError, Warning};
use crate::fingerprint::is_predigested;
use crate::reference::{self, FileRef, Target};
use crate::rewrite::{self, Scan};

/// A reference that will be rewritten: where its text is, and the file it names.
#[derive(Debug, Clone)]
pub struct Edit {
    /// Byte range of the specifier in the source.
    pub span: Range<usize>,
    /// The specifier as written.
    pub spec: String,
    /// The parse of `spec` the rewrite reuses.
    pub file_ref: FileRef,
    /// Index of the file it names.
    pub target: usize,
}

/// Every file's edits, indexed like [`Sources`].
#[derive(Debug)]
pub struct Resolved {
    /// Edits per file, in position order.
    pub edits: Vec<Vec<Edit>>,
    /// Files already digested by AssetMapper (kept as they are: not scanned, not renamed).
    pub predigested: Vec<bool>,
}

impl Resolved {
    /// The files each file's final bytes depend on (graph edges).
    pub fn edges(&self) -> Vec<Vec<usize>> {
        self.edits
            .iter()
            .map(|l| l.iter().map(|e| e.target).collect())
            .collect()
    }
}

/// Scans every CSS/JS file and resolves what it references.
pub fn resolve(
    sources: &Sources,
    strict: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Resolved, BuildError> {
    let index: HashMap<&str, usize> = (0..sources.len()).map(|i| (sources.rel(i), i)).collect();
    let predigested: Vec<bool> = (0..sources.len())
        .map(|i| is_predigested(file_name(sources.rel(i))))
        .collect();
    let scans: Vec<Scan> = (0..sources.len())
        .into_par_iter()
        .map(|i| {
            if predigested[i] {
                Scan::default()
            } else {
                rewrite::find_refs(&content_type::extension(sources.rel(i)), &sources.bytes[i])
            }
        })
        .collect();
    let mut edits = Vec::with_capacity(sources.len());
    for (i, scan) in scans.into_iter().enumerate() {
        let file = sources.rel(i);
        let bytes = &sources.bytes[i];
        for u in &scan.unclassified {
            unclassified(file, bytes, u.at, u.why.describe(), strict, warnings)?;
        }
        let mut list = Vec::new();
        for r in scan.refs {
            let Some(spec) = bytes
                .get(r.span.clone())
                .and_then(|s| std::str::from_utf8(s).ok())
            else {
                // Not UTF-8: no file name of ours is spelled so.
                let reason = "the specifier is not valid UTF-8";
                unclassified(file, bytes, r.span.start, reason, strict, warnings)?;
                continue;
            };
            let found = match reference::resolve(file, spec, r.kind) {
                Target::External => continue,
                Target::File(f) => index.get(f.path.as_str()).map(|&t| (t, f)),
                Target::Unresolvable(_) => None,
            };
            match found {
                Some((target, file_ref)) => list.push(Edit {
                    span: r.span,
                    spec: spec.to_string(),
                    file_ref,
                    target,
                }),
                None if strict => {
                    return Err(BuildError::MissingReference {
                        file: file.to_string(),
                        reference: spec.to_string(),
                    })
                }
                None => warnings.push(Warning::MissingReference {
                    file: file.to_string(),
                    reference: spec.to_string(),
                }),
            }
        }
        edits.push(list);
    }
    Ok(Resolved { edits, predigested })
}

/// A possible reference at byte `at` of `file` that is not rewritten, for `reason`: an error with
/// `--strict`, else a warning.
fn unclassified(
    file: &str,
    bytes: &[u8],
    at: usize,
    reason: &'static str,
    strict: bool,
    warnings: &mut Vec<Warning>,
) -> Result<(), BuildError> {
    let (line, excerpt) = locate(bytes, at);
    if strict {
        return Err(BuildError::UnclassifiedReference {
            file: file.to_string(),
            line,
            excerpt,
            reason,
        });
    }
    warnings.push(Warning::UnclassifiedReference {
        file: file.to_string(),
        line,
        excerpt,
        reason: reason.to_string(),
    });
    Ok(())
}

/// The 1-based line of byte `at` and an excerpt of the text from there (to the line end, at
/// most 60 characters).
fn locate(bytes: &[u8], at: usize) -> (usize, String) {
    let at = at.min(bytes.len());
    let line = 1 + bytes[..at].iter().filter(|&&c| c == b'\n').count();
    let rest = &bytes[at..];
    let end = rest
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .unwrap_or(rest.len());
    let text = String::from_utf8_lossy(&rest[..end]);
    let excerpt: String = text.chars().take(60).collect();
    (line, excerpt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_lines_and_cuts_excerpts() {
        assert_eq!(locate(b"a\nbc\ndef", 3), (2, "c".to_string()));
        assert_eq!(locate(b"", 5), (1, String::new()));
        let long = "x".repeat(100);
        assert_eq!(locate(long.as_bytes(), 0).1.len(), 60);
        assert_eq!(locate(b"\xff\xfe", 0).1, "\u{fffd}\u{fffd}");
    }
}
