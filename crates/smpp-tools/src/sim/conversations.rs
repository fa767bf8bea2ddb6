//! Who texted whom, for the MO (reply) traffic of `--mo-rate`.
//!
//! A reply comes from a phone someone texted, to the number that texted it, on that
//! system_id's receivers. Each distinct conversation is kept once, however often it is
//! texted: a router that answers every STOP with a confirmation texts the same phone again
//! and again, and counting each text would let one conversation crowd out the others (with
//! two, the second's share of the replies fell towards nothing).

use std::collections::{HashSet, VecDeque};

use bytes::Bytes;
use smpp_pdu::Address;

/// One conversation: replies go from `phone` to `sender`, for `system_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Conversation {
    pub(crate) system_id: Bytes,
    pub(crate) phone: Address,
    pub(crate) sender: Address,
}

/// The distinct conversations, at most `capacity`, the oldest forgotten first.
#[derive(Debug)]
pub(crate) struct Conversations {
    capacity: usize,
    order: VecDeque<Conversation>,
    known: HashSet<Conversation>,
}

impl Conversations {
    pub(crate) fn new(capacity: usize) -> Self {
        Conversations {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            known: HashSet::new(),
        }
    }

    /// Remembers a text from `sender` to `phone` for `system_id` (once per conversation).
    pub(crate) fn remember(&mut self, system_id: &Bytes, phone: &Address, sender: &Address) {
        let c = Conversation {
            system_id: system_id.clone(),
            phone: phone.clone(),
            sender: sender.clone(),
        };
        if self.known.contains(&c) {
            return;
        }
        if self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.known.remove(&old);
            }
        }
        self.known.insert(c.clone());
        self.order.push_back(c);
    }

    /// One conversation, each as likely as any other; `None` when there are none.
    pub(crate) fn pick(&self) -> Option<Conversation> {
        if self.order.is_empty() {
            return None;
        }
        self.order.get(fastrand::usize(..self.order.len())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp_pdu::{Npi, Ton};

    fn addr(s: &'static str) -> Address {
        Address::new(Ton(1), Npi(1), Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn a_conversation_texted_again_is_not_picked_more_often() {
        let mut c = Conversations::new(10);
        let id = Bytes::from_static(b"router");
        c.remember(&id, &addr("15550000001"), &addr("15550100"));
        c.remember(&id, &addr("15550000003"), &addr("777"));
        for _ in 0..1000 {
            c.remember(&id, &addr("15550000001"), &addr("15550100"));
        }
        let from_777 = (0..4000)
            .filter(|_| c.pick().is_some_and(|p| p.sender.addr == "777"))
            .count();
        // Half of 4000 on average; a 50 % pick falls outside 1700..2300 with odds far below
        // one in a billion.
        assert!((1700..2300).contains(&from_777), "{from_777} of 4000");
    }

    #[test]
    fn past_capacity_the_oldest_is_forgotten_and_can_come_back() {
        let mut c = Conversations::new(2);
        let id = Bytes::from_static(b"router");
        assert!(c.pick().is_none());
        c.remember(&id, &addr("1"), &addr("9"));
        c.remember(&id, &addr("2"), &addr("9"));
        c.remember(&id, &addr("3"), &addr("9"));
        let phones: HashSet<_> = (0..200)
            .filter_map(|_| c.pick().map(|p| p.phone.addr))
            .collect();
        assert_eq!(phones, HashSet::from([Bytes::from("2"), Bytes::from("3")]));
        c.remember(&id, &addr("1"), &addr("9"));
        assert_eq!(c.order.len(), 2);
        assert!(c.known.contains(&Conversation {
            system_id: id.clone(),
            phone: addr("1"),
            sender: addr("9"),
        }));
    }
}
