//! Handles for what is held between calls from JavaScript (the exchanges the worker's entry
//! module drives): a slot and a token. A handle whose exchange is over (its slot since reused),
//! or one issued by another Wasm instance (the one a panic replaced, whose requests may still be
//! in flight), names nothing, rather than another request's state.

/// Slots per token: a handle is `token × SLOTS + slot`, below 2^48, exact as a JavaScript number.
pub const SLOTS: u64 = 1 << 16;

/// Values held under handles.
#[derive(Debug)]
pub struct Handles<T> {
    slots: Vec<Option<(u32, T)>>,
    next: u32,
}

impl<T> Handles<T> {
    /// No values yet; tokens count from `start` (random, so that two instances' handles differ).
    pub fn new(start: u32) -> Self {
        Handles {
            slots: Vec::new(),
            next: start,
        }
    }

    /// Holds `value`: its handle (`None` when all [`SLOTS`] are taken).
    pub fn open(&mut self, value: T) -> Option<u64> {
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if (self.slots.len() as u64) < SLOTS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return None,
        };
        let token = self.next;
        self.next = token.wrapping_add(1);
        self.slots[slot] = Some((token, value));
        Some(u64::from(token) * SLOTS + slot as u64)
    }

    /// The value handle `h` names, if it still holds one.
    pub fn get_mut(&mut self, h: f64) -> Option<&mut T> {
        let (slot, token) = split(h)?;
        match self.slots.get_mut(slot)? {
            Some((t, value)) if *t == token => Some(value),
            _ => None,
        }
    }

    /// Takes the value handle `h` names out (its slot is free again).
    pub fn take(&mut self, h: f64) -> Option<T> {
        let (slot, token) = split(h)?;
        let entry = self.slots.get_mut(slot)?;
        match entry {
            Some((t, _)) if *t == token => entry.take().map(|(_, value)| value),
            _ => None,
        }
    }
}

/// The slot and token of handle `h` (`None` for what no handle is: negative, fractional, too
/// large, not a number).
fn split(h: f64) -> Option<(usize, u32)> {
    let whole = h >= 0.0 && h.fract() == 0.0 && h < (SLOTS * (1 << 32)) as f64;
    let h = whole.then_some(h as u64)?;
    Some(((h % SLOTS) as usize, (h / SLOTS) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_names_its_value_until_it_is_taken() {
        let mut held = Handles::new(7);
        let a = held.open("a").unwrap() as f64;
        let b = held.open("b").unwrap() as f64;
        assert_eq!(held.get_mut(a), Some(&mut "a"));
        assert_eq!(held.take(a), Some("a"));
        assert_eq!(held.get_mut(a), None, "over");
        assert_eq!(held.take(a), None, "taken once");
        let c = held.open("c").unwrap() as f64;
        assert_ne!(c, a, "the slot is reused under a new token");
        assert_eq!(
            held.get_mut(a),
            None,
            "the old handle does not name the new value"
        );
        assert_eq!(held.get_mut(c), Some(&mut "c"));
        assert_eq!(held.get_mut(b), Some(&mut "b"));
    }

    #[test]
    fn another_instances_handles_name_nothing() {
        // A panic replaces the instance; requests in flight keep their handles.
        let mut before = Handles::new(1_000);
        let mut after = Handles::new(3_000_000_000);
        let old = before.open("A").unwrap() as f64;
        let new = after.open("D").unwrap() as f64;
        assert_eq!(after.get_mut(old), None);
        assert_eq!(after.take(old), None);
        assert_eq!(after.get_mut(new), Some(&mut "D"));
    }

    #[test]
    fn what_no_handle_is_names_nothing() {
        let mut held = Handles::new(0);
        let h = held.open(1).unwrap();
        assert_eq!(h, 0);
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(held.get_mut(bad), None, "{bad}");
        }
        assert_eq!(held.get_mut(0.0), Some(&mut 1));
    }

    #[test]
    fn tokens_wrap_and_slots_are_bounded() {
        let mut held = Handles::new(u32::MAX);
        let a = held.open(()).unwrap();
        let b = held.open(()).unwrap();
        assert_eq!((a / SLOTS, b / SLOTS), (u64::from(u32::MAX), 0));
        assert!(a < 1 << 53, "exact as a JavaScript number");
    }
}
