//! The last few answers of a lookup, kept per thread: for what a file response asks on every
//! request and whose answer depends on its key alone (the content type of the same few
//! extensions, the `Server` value of the same settings), where one comparison is cheaper than
//! the lookup or its allocation.

/// How many answers are kept; the oldest goes first.
const KEPT: usize = 8;

/// Recent `(key, answer)` pairs, oldest first.
pub(crate) struct Recent<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V: Clone> Recent<K, V> {
    /// None kept yet; allocates nothing.
    pub(crate) const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// The answer kept for the key `matches` picks, else `make`'s pair, kept from now on.
    pub(crate) fn get_or(
        &mut self,
        matches: impl Fn(&K) -> bool,
        make: impl FnOnce() -> (K, V),
    ) -> V {
        if let Some((_, answer)) = self.entries.iter().find(|(key, _)| matches(key)) {
            return answer.clone();
        }
        let (key, answer) = make();
        if self.entries.len() == KEPT {
            self.entries.remove(0);
        }
        self.entries.push((key, answer.clone()));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_few_answers() {
        let mut recent = Recent::new();
        let mut made = 0;
        for round in 0..2 {
            for key in 0..KEPT {
                let answer = recent.get_or(
                    |k| *k == key,
                    || {
                        made += 1;
                        (key, key * 10)
                    },
                );
                assert_eq!(answer, key * 10);
            }
            assert_eq!(made, KEPT, "round {round}");
        }
        // One more key pushes the oldest out: asking for it again makes it again.
        recent.get_or(|k| *k == KEPT, || (KEPT, 0));
        recent.get_or(
            |k| *k == 0,
            || {
                made += 1;
                (0, 0)
            },
        );
        assert_eq!(made, KEPT + 1);
    }
}
