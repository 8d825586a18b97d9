//! Steering policies over origins with weights; `available[i]` false means skip origin `i`.
//! The slices come from one pool and have its length; if they ever differ, only the origins all
//! of them describe are considered (never an index out of bounds on the request path).

/// Smooth weighted round-robin (nginx's): each pick adds every weight to its running total and
/// takes the largest, which then pays back the sum. Spreads picks evenly (a, a, b not a, b, a
/// with weights 2:1 — never bursts) and is exact over every cycle of `sum(weights)` picks.
pub fn smooth_weighted_round_robin(
    current: &mut [i64],
    weights: &[u32],
    available: &[bool],
) -> Option<usize> {
    let mut total = 0i64;
    let mut best: Option<usize> = None;
    let n = weights.len().min(available.len()).min(current.len());
    for i in 0..n {
        if !available[i] {
            continue;
        }
        current[i] += i64::from(weights[i]);
        total += i64::from(weights[i]);
        if best.is_none_or(|b| current[i] > current[b]) {
            best = Some(i);
        }
    }
    let b = best?;
    current[b] -= total;
    Some(b)
}

/// Weighted random: origin `i` with probability `weights[i] / sum`, from a random number.
pub fn weighted_random(weights: &[u32], available: &[bool], random: u64) -> Option<usize> {
    let n = weights.len().min(available.len());
    let total: u64 = (0..n)
        .filter(|&i| available[i])
        .map(|i| u64::from(weights[i]))
        .sum();
    if total == 0 {
        return None;
    }
    let mut r = random % total;
    for i in 0..n {
        if !available[i] {
            continue;
        }
        let w = u64::from(weights[i]);
        if r < w {
            return Some(i);
        }
        r -= w;
    }
    None
}

/// Fewest in-flight requests relative to weight (`outstanding / weight`); ties broken by the
/// random number so concurrent isolates do not all pick the same origin.
pub fn least_outstanding(
    outstanding: &[u32],
    weights: &[u32],
    available: &[bool],
    random: u64,
) -> Option<usize> {
    let n = weights.len().min(available.len()).min(outstanding.len());
    let candidates: Vec<usize> = (0..n).filter(|&i| available[i]).collect();
    let load = |i: usize| (u64::from(outstanding[i]) << 20) / u64::from(weights[i].max(1));
    let min = candidates.iter().map(|&i| load(i)).min()?;
    let ties: Vec<usize> = candidates.into_iter().filter(|&i| load(i) == min).collect();
    Some(ties[(random % ties.len() as u64) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(picks: impl Iterator<Item = Option<usize>>, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for p in picks {
            c[p.unwrap()] += 1;
        }
        c
    }

    #[test]
    fn slices_of_different_lengths_never_index_out_of_bounds() {
        let mut cur = vec![0; 2];
        for _ in 0..5 {
            let p = smooth_weighted_round_robin(&mut cur, &[1, 1, 1], &[true, true, true, true]);
            assert!(p.is_some_and(|i| i < 2));
        }
        for r in 0..20 {
            assert!(weighted_random(&[1, 2, 3], &[true, true], r).is_some_and(|i| i < 2));
            assert!(weighted_random(&[1], &[true, true, true], r) == Some(0));
            let p = least_outstanding(&[0], &[1, 1], &[true, true], r);
            assert_eq!(p, Some(0));
        }
        assert_eq!(least_outstanding(&[], &[1], &[true], 3), None);
    }

    #[test]
    fn round_robin_is_exact_and_smooth() {
        let mut cur = vec![0; 3];
        let picks: Vec<usize> = (0..6)
            .map(|_| smooth_weighted_round_robin(&mut cur, &[4, 1, 1], &[true; 3]).unwrap())
            .collect();
        assert_eq!(picks.iter().filter(|&&p| p == 0).count(), 4);
        assert_eq!(picks, [0, 0, 1, 0, 2, 0], "spread, not bursts");
        let mut cur = vec![0; 3];
        let c = counts(
            (0..3000).map(|_| smooth_weighted_round_robin(&mut cur, &[3, 2, 1], &[true; 3])),
            3,
        );
        assert_eq!(c, [1500, 1000, 500]);
    }

    #[test]
    fn round_robin_skips_unavailable() {
        let mut cur = vec![0; 3];
        let c = counts(
            (0..100)
                .map(|_| smooth_weighted_round_robin(&mut cur, &[1, 1, 1], &[true, false, true])),
            3,
        );
        assert_eq!(c, [50, 0, 50]);
        assert_eq!(
            smooth_weighted_round_robin(&mut cur, &[1, 1, 1], &[false; 3]),
            None
        );
    }

    #[test]
    fn weighted_random_follows_weights() {
        // A fixed sequence of "random" numbers covering the range evenly.
        let c = counts(
            (0..4000u64).map(|r| weighted_random(&[3, 1], &[true, true], r * 7919)),
            2,
        );
        assert_eq!(c, [3000, 1000]);
        assert_eq!(weighted_random(&[3, 1], &[false, true], 0), Some(1));
        assert_eq!(weighted_random(&[3, 1], &[false, false], 0), None);
    }

    #[test]
    fn least_outstanding_prefers_idle_and_heavier_origins() {
        assert_eq!(
            least_outstanding(&[3, 1, 2], &[1, 1, 1], &[true; 3], 0),
            Some(1)
        );
        assert_eq!(
            least_outstanding(&[4, 3], &[4, 1], &[true; 2], 0),
            Some(0),
            "4/4 < 3/1"
        );
        assert_eq!(
            least_outstanding(&[0, 9], &[1, 1], &[false, true], 0),
            Some(1)
        );
        let ties: Vec<_> = (0..4)
            .map(|r| least_outstanding(&[1, 1], &[1, 1], &[true; 2], r).unwrap())
            .collect();
        assert!(ties.contains(&0) && ties.contains(&1));
    }
}
