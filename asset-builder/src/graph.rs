//! The reference graph: which file's final bytes depend on which other file's published name.
//!
//! Files are processed dependencies-first. References may form cycles (ES modules may import each
//! other); a cycle is a strongly connected component and is fingerprinted as one unit.

/// Strongly connected components of the graph with `n` nodes and adjacency `edges[node]`, in
/// dependency order: every component comes after all components it references. Iterative
/// Tarjan, so a 100,000-long chain cannot overflow the stack.
pub fn components(n: usize, edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next_index = 0;
    // (node, position in its edge list)
    let mut call: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        call.push((root, 0));
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            if *pos == 0 && index[v] == UNSEEN {
                index[v] = next_index;
                low[v] = next_index;
                next_index += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*pos) {
                *pos += 1;
                if index[w] == UNSEEN {
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comp.sort_unstable();
                out.push(comp);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(order: &[Vec<usize>], node: usize) -> usize {
        order.iter().position(|c| c.contains(&node)).unwrap()
    }

    #[test]
    fn dependencies_come_first() {
        // 0 -> 1 -> 2, 0 -> 2
        let order = components(3, &[vec![1, 2], vec![2], vec![]]);
        assert_eq!(order, [vec![2], vec![1], vec![0]]);
    }

    #[test]
    fn cycles_are_one_component_after_their_dependencies() {
        // 0 <-> 1, 1 -> 2, 3 -> 0, 4 -> 4
        let order = components(5, &[vec![1], vec![0, 2], vec![], vec![0], vec![4]]);
        assert!(order.contains(&vec![0, 1]));
        assert!(order.contains(&vec![4]));
        assert!(position(&order, 2) < position(&order, 0));
        assert!(position(&order, 0) < position(&order, 3));
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let n = 200_000;
        let edges: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
            .collect();
        let order = components(n, &edges);
        assert_eq!(order.len(), n);
        assert_eq!(order[0], vec![n - 1]);
    }
}
