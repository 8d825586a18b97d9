//! Consistent hashing (Ketama): each origin owns points on a ring in proportion to its weight; a
//! key goes to the first point at or after its hash. Removing one of N origins moves only the keys
//! it owned (about 1/N); the others stay where they were.

use sha2::{Digest, Sha256};

/// Points per unit of weight while the ring is small.
const POINTS_PER_WEIGHT: u64 = 40;
/// Points on the whole ring at most (weights up to 1000 would otherwise make 40,000 points per
/// origin). When the weights add up to more, every origin's share is scaled down alike, so
/// ownership stays proportional to weight (1000:100 owns about 91:9).
const RING_BUDGET: u64 = 16_000;

/// The ring: sorted (point, origin index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    points: Vec<(u32, usize)>,
}

/// The hash of a key on the ring.
pub fn hash(key: &[u8]) -> u32 {
    let d = Sha256::digest(key);
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

impl Ring {
    /// Builds the ring for `(name, weight)` origins; names (URLs) place the points, so the ring
    /// does not change when origins are reordered.
    pub fn new(origins: &[(&str, u32)]) -> Self {
        let total: u64 = origins.iter().map(|&(_, w)| u64::from(w)).sum();
        let scaled = RING_BUDGET.min(POINTS_PER_WEIGHT * total);
        let mut points = Vec::new();
        for (i, (name, weight)) in origins.iter().enumerate() {
            let n = (u64::from(*weight) * scaled)
                .checked_div(total)
                .unwrap_or(0)
                .max(1) as u32;
            let mut k = 0u32;
            while k < n {
                let d = Sha256::digest(format!("{name}-{}", k / 8).as_bytes());
                for chunk in d.chunks(4).take((n - k).min(8) as usize) {
                    points.push((
                        u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
                        i,
                    ));
                    k += 1;
                }
            }
        }
        points.sort_unstable();
        Ring { points }
    }

    /// The origin owning `h`, skipping unavailable ones by walking on round the ring.
    pub fn pick(&self, h: u32, available: &[bool]) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let start = self.points.partition_point(|&(p, _)| p < h);
        (0..self.points.len())
            .map(|k| self.points[(start + k) % self.points.len()].1)
            .find(|&i| available.get(i).copied().unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("http://10.0.0.{i}:80")).collect()
    }

    #[test]
    fn removing_one_of_n_moves_about_one_nth_of_the_keys() {
        let names = origins(4);
        let ring = Ring::new(&names.iter().map(|n| (n.as_str(), 1)).collect::<Vec<_>>());
        let all = [true; 4];
        let without_2 = [true, true, false, true];
        let keys = 20_000;
        let mut moved = 0;
        let mut owned_by_2 = 0;
        for k in 0..keys {
            let h = hash(format!("session-{k}").as_bytes());
            let before = ring.pick(h, &all).unwrap();
            let after = ring.pick(h, &without_2).unwrap();
            if before == 2 {
                owned_by_2 += 1;
                assert_ne!(after, 2);
            } else {
                assert_eq!(before, after, "keys of other origins never move");
            }
            moved += usize::from(before != after);
        }
        assert_eq!(moved, owned_by_2);
        let share = moved as f64 / keys as f64;
        assert!((0.15..0.35).contains(&share), "moved {share}");
    }

    #[test]
    fn weights_scale_ownership() {
        let names = origins(2);
        let ring = Ring::new(&[(names[0].as_str(), 3), (names[1].as_str(), 1)]);
        let mut c = [0usize; 2];
        for k in 0..20_000 {
            c[ring
                .pick(hash(format!("k{k}").as_bytes()), &[true, true])
                .unwrap()] += 1;
        }
        let share = c[0] as f64 / 20_000.0;
        assert!(
            (0.65..0.85).contains(&share),
            "heavier origin share {share}"
        );
    }

    #[test]
    fn weights_above_one_hundred_count() {
        let names = origins(2);
        let ring = Ring::new(&[(names[0].as_str(), 1000), (names[1].as_str(), 100)]);
        let keys = 20_000;
        let heavy = (0..keys)
            .filter(|k| ring.pick(hash(format!("k{k}").as_bytes()), &[true, true]) == Some(0))
            .count();
        let share = heavy as f64 / keys as f64;
        assert!((0.88..0.94).contains(&share), "1000:100 gives {share}");
    }

    #[test]
    fn nothing_available_is_none() {
        let ring = Ring::new(&[("a", 1)]);
        assert_eq!(ring.pick(5, &[false]), None);
        assert_eq!(Ring::new(&[]).pick(5, &[]), None);
    }
}
