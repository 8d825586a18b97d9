//! Request log lines gathered per isolate and written together, as Envoy and nginx buffer their
//! access logs: one `console.log` per batch instead of one per request. A log call costs the
//! Workers runtime far more than building the line (each is a separate write, and locally a
//! separate read in the host process), and Workers Logs bills per event.
//!
//! A batch is written when it holds `max_lines` lines or [`MAX_BYTES`], at once when a line is
//! urgent (the edge answered itself, or a 5xx: what an operator looks for during an incident
//! is never held), and at the latest `flush_ms` after its first line: after each request the
//! glue asks [`LogBatch::arm`] whether a timer is wanted and arms it inside that request's
//! `waitUntil` (so the isolate stays up until it fires). With `max_lines` 1 every line is
//! written at once and no timer is armed.

/// A batch is written once its text reaches this many bytes, whatever its line count.
pub const MAX_BYTES: usize = 64 << 10;

/// The lines held in an isolate, not yet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch {
    text: String,
    lines: u32,
    max_lines: u32,
    flush_ms: u64,
    armed: bool,
}

impl LogBatch {
    /// A batch of up to `max_lines` lines (at least 1), each written at most `flush_ms` after
    /// it was pushed.
    pub fn new(max_lines: u32, flush_ms: u64) -> Self {
        LogBatch {
            text: String::new(),
            lines: 0,
            max_lines: max_lines.max(1),
            flush_ms,
            armed: false,
        }
    }

    /// Adds a line; the text to write now, if the batch is full or `urgent` (then what is held
    /// goes with it).
    pub fn push(&mut self, line: &str, urgent: bool) -> Option<String> {
        if self.lines > 0 {
            self.text.push('\n');
        }
        self.text.push_str(line);
        self.lines += 1;
        if urgent || self.lines >= self.max_lines || self.text.len() >= MAX_BYTES {
            return self.take();
        }
        None
    }

    /// The timer to arm (ms), when lines are held and none is armed yet.
    pub fn arm(&mut self) -> Option<u64> {
        if self.lines == 0 || self.armed {
            return None;
        }
        self.armed = true;
        Some(self.flush_ms)
    }

    /// The armed timer fired: what is held, to write now (`None` when a full batch already
    /// went). The next line held makes [`LogBatch::arm`] ask for a timer again.
    pub fn due(&mut self) -> Option<String> {
        self.armed = false;
        self.take()
    }

    /// Lines held now.
    pub fn held(&self) -> u32 {
        self.lines
    }

    fn take(&mut self) -> Option<String> {
        if self.lines == 0 {
            return None;
        }
        self.lines = 0;
        Some(std::mem::take(&mut self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_batches_write_every_line_and_arm_nothing() {
        let mut b = LogBatch::new(1, 1000);
        for line in ["a", "b"] {
            assert_eq!(b.push(line, false).as_deref(), Some(line));
            assert_eq!(b.arm(), None);
        }
        assert_eq!(b.held(), 0);
        // 0 is read as 1: a batch always holds at least the line just pushed.
        assert_eq!(LogBatch::new(0, 5).push("x", false).as_deref(), Some("x"));
    }

    #[test]
    fn held_lines_arm_one_timer_and_a_full_batch_is_written() {
        let mut b = LogBatch::new(3, 250);
        assert_eq!(b.arm(), None, "nothing held");
        assert_eq!(b.push("a", false), None);
        assert_eq!(b.arm(), Some(250));
        assert_eq!(b.push("b", false), None);
        assert_eq!(b.arm(), None, "one timer per batch");
        assert_eq!(b.push("c", false).as_deref(), Some("a\nb\nc"));
        // The batch's timer fires after it went: nothing to write; the next line arms again.
        assert_eq!(b.due(), None);
        b.push("d", false);
        assert_eq!(b.arm(), Some(250));
    }

    #[test]
    fn the_timer_writes_what_is_held() {
        let mut b = LogBatch::new(32, 1000);
        b.push("a", false);
        b.push("b", false);
        assert_eq!(b.arm(), Some(1000));
        assert_eq!(b.due().as_deref(), Some("a\nb"));
        assert_eq!(b.held(), 0);
        assert_eq!(b.due(), None);
    }

    #[test]
    fn an_urgent_line_goes_at_once_with_what_is_held() {
        let mut b = LogBatch::new(32, 1000);
        b.push("a", false);
        assert_eq!(b.arm(), Some(1000));
        assert_eq!(b.push("error", true).as_deref(), Some("a\nerror"));
        // The timer armed for "a" is still pending: no second one for "c".
        b.push("c", false);
        assert_eq!(b.arm(), None);
        assert_eq!(b.due().as_deref(), Some("c"));
        // Urgent on an empty batch: written alone, nothing held.
        assert_eq!(b.push("e", true).as_deref(), Some("e"));
        assert_eq!(b.arm(), None);
    }

    #[test]
    fn a_batch_is_written_once_it_reaches_the_byte_cap() {
        let mut b = LogBatch::new(1000, 1000);
        let line = "x".repeat(MAX_BYTES / 4);
        for _ in 0..3 {
            assert_eq!(b.push(&line, false), None);
        }
        let written = b.push(&line, false).expect("at the cap");
        assert_eq!(written.lines().count(), 4);
        assert!(written.len() >= MAX_BYTES);
    }
}
