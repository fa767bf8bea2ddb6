//! Sequence numbers: 1 to 0x7FFFFFFF, wrapping, never reusing one still outstanding.

/// The largest sequence number the spec allows.
pub const MAX_SEQUENCE: u32 = 0x7FFF_FFFF;

/// Hands out sequence numbers in order.
#[derive(Debug, Clone)]
pub(crate) struct Sequence {
    next: u32,
}

impl Default for Sequence {
    fn default() -> Self {
        Sequence { next: 1 }
    }
}

impl Sequence {
    /// Starts at `next` (for tests of the wrap).
    #[cfg(test)]
    pub(crate) fn starting_at(next: u32) -> Self {
        Sequence { next }
    }

    /// The next number for which `in_use` is false.
    pub(crate) fn next_free(&mut self, in_use: impl Fn(u32) -> bool) -> u32 {
        loop {
            let n = self.next;
            self.next = if n >= MAX_SEQUENCE { 1 } else { n + 1 };
            if !in_use(n) {
                return n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_to_one_and_skips_numbers_in_use() {
        let mut s = Sequence::starting_at(MAX_SEQUENCE - 1);
        assert_eq!(s.next_free(|_| false), MAX_SEQUENCE - 1);
        assert_eq!(s.next_free(|_| false), MAX_SEQUENCE);
        assert_eq!(s.next_free(|n| n == 1), 2);
        assert_eq!(s.next_free(|_| false), 3);
    }
}
