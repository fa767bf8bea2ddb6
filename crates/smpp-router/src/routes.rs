//! The route table: which carrier connector a message goes to.
//!
//! Rules are ordered and match on account, destination prefix, source address prefix and
//! service_type. Destination prefixes are compiled into a digit trie so a lookup walks the
//! destination once, whatever the number of rules: the rules hanging off the deepest trie node
//! the destination reaches are tried first (longest prefix wins), in file order, then those of
//! shorter prefixes, and last the rules without a destination prefix. The first rule whose other
//! conditions hold decides.
//!
//! A rule sends to one connector, a weighted split, or a failover list; [`Target::plan`] turns
//! that into the order in which connectors are tried for one message.

/// A connector's index in the router's connector list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectorId(pub u16);

/// Where a rule sends its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Always this connector.
    One(ConnectorId),
    /// One of these, chosen per message in proportion to its weight; the others are the
    /// fallback, in the order given, when the chosen one cannot take the message.
    Split(Vec<(ConnectorId, u32)>),
    /// The first that can take the message, in this order.
    Failover(Vec<ConnectorId>),
}

impl Target {
    /// The connectors to try for one message, in order. `roll` is a random number; only a
    /// split uses it.
    pub fn plan(&self, roll: u32) -> Plan<'_> {
        let first = match self {
            Target::Split(entries) => {
                let total: u64 = entries.iter().map(|&(_, w)| u64::from(w)).sum();
                let mut r = if total == 0 {
                    0
                } else {
                    u64::from(roll) % total
                };
                entries
                    .iter()
                    .position(|&(_, w)| {
                        let hit = r < u64::from(w);
                        r = r.saturating_sub(u64::from(w));
                        hit
                    })
                    .unwrap_or(0)
            }
            _ => 0,
        };
        Plan {
            target: self,
            first,
            next: 0,
        }
    }

    fn len(&self) -> usize {
        match self {
            Target::One(_) => 1,
            Target::Split(e) => e.len(),
            Target::Failover(l) => l.len(),
        }
    }

    fn at(&self, i: usize) -> ConnectorId {
        match self {
            Target::One(c) => *c,
            Target::Split(e) => e[i].0,
            Target::Failover(l) => l[i],
        }
    }
}

/// The connectors to try for one message, in order (see [`Target::plan`]).
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    target: &'a Target,
    first: usize,
    next: usize,
}

impl Iterator for Plan<'_> {
    type Item = ConnectorId;

    fn next(&mut self) -> Option<ConnectorId> {
        // Order: the chosen entry, then every other entry in the order given.
        let n = self.target.len();
        if self.next >= n {
            return None;
        }
        let i = match self.next {
            0 => self.first,
            k if k <= self.first => k - 1,
            k => k,
        };
        self.next += 1;
        Some(self.target.at(i))
    }
}

/// One rule of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's name, for the resolve API and logs.
    pub name: String,
    /// Accounts it applies to (system_ids); empty: every account.
    pub accounts: Vec<String>,
    /// Destination prefixes (digits; a leading `+` is ignored); empty: every destination.
    pub prefixes: Vec<String>,
    /// Source address prefixes; empty: every source.
    pub sources: Vec<String>,
    /// service_type values; empty: any.
    pub service_types: Vec<String>,
    /// Where matching messages go.
    pub target: Target,
    /// What the rule changes of its accounts' consent settings.
    pub consent: crate::gate::RouteConsent,
}

impl Rule {
    fn matches_rest(&self, m: &Message<'_>) -> bool {
        (self.accounts.is_empty() || self.accounts.iter().any(|a| a.as_bytes() == m.account))
            && (self.sources.is_empty()
                || self
                    .sources
                    .iter()
                    .any(|s| m.source.starts_with(s.as_bytes())))
            && (self.service_types.is_empty()
                || self
                    .service_types
                    .iter()
                    .any(|s| s.as_bytes() == m.service_type))
    }
}

/// What a route lookup looks at.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The submitting account's system_id.
    pub account: &'a [u8],
    /// destination_addr.
    pub dest: &'a [u8],
    /// source_addr.
    pub source: &'a [u8],
    /// service_type.
    pub service_type: &'a [u8],
}

/// The rule a message matched.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// Its position in the table (for metrics and the resolve API).
    pub index: usize,
    /// The rule.
    pub rule: &'a Rule,
}

/// A trie node: children by digit, and the rules whose prefix ends here (in file order).
#[derive(Debug, Clone, Default)]
struct Node {
    children: [u32; 10],
    rules: Vec<u32>,
}

/// The compiled table.
#[derive(Debug, Clone)]
pub struct RouteTable {
    rules: Vec<Rule>,
    nodes: Vec<Node>,
}

/// A destination's digits: a leading `+` skipped, stopping at the first non-digit.
fn digits(dest: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let dest = dest.strip_prefix(b"+").unwrap_or(dest);
    dest.iter()
        .map_while(|&b| b.is_ascii_digit().then_some(usize::from(b - b'0')))
}

impl RouteTable {
    /// Compiles `rules`, in priority order among equal prefixes.
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut nodes = vec![Node::default()];
        for (index, rule) in rules.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            if rule.prefixes.is_empty() {
                nodes[0].rules.push(index);
            }
            for prefix in &rule.prefixes {
                let mut at = 0usize;
                for d in digits(prefix.as_bytes()) {
                    let child = nodes[at].children[d];
                    at = if child == 0 {
                        nodes.push(Node::default());
                        let new = nodes.len() - 1;
                        nodes[at].children[d] = u32::try_from(new).unwrap_or(u32::MAX);
                        new
                    } else {
                        child as usize
                    };
                }
                if !nodes[at].rules.contains(&index) {
                    nodes[at].rules.push(index);
                }
            }
        }
        RouteTable { rules, nodes }
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule that decides for `m`, or `None` when no rule matches.
    pub fn resolve(&self, m: &Message<'_>) -> Option<Resolved<'_>> {
        // The trie nodes along the destination, deepest last; at most one per digit.
        let mut path = [0u32; 32];
        let mut depth = 1;
        let mut at = 0usize;
        for d in digits(m.dest) {
            let child = self.nodes[at].children[d];
            if child == 0 || depth == path.len() {
                break;
            }
            at = child as usize;
            path[depth] = child;
            depth += 1;
        }
        path[..depth].iter().rev().find_map(|&node| {
            self.nodes[node as usize].rules.iter().find_map(|&r| {
                let rule = &self.rules[r as usize];
                rule.matches_rest(m).then_some(Resolved {
                    index: r as usize,
                    rule,
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, prefixes: &[&str], target: Target) -> Rule {
        Rule {
            name: name.into(),
            accounts: vec![],
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            sources: vec![],
            service_types: vec![],
            target,
            consent: Default::default(),
        }
    }

    fn msg<'a>(account: &'a str, dest: &'a str) -> Message<'a> {
        Message {
            account: account.as_bytes(),
            dest: dest.as_bytes(),
            source: b"ACME",
            service_type: b"",
        }
    }

    fn name<'a>(t: &'a RouteTable, m: &Message<'_>) -> Option<&'a str> {
        t.resolve(m).map(|r| r.rule.name.as_str())
    }

    #[test]
    fn longest_prefix_wins_then_file_order() {
        let t = RouteTable::new(vec![
            rule("default", &[], Target::One(ConnectorId(0))),
            rule("uk", &["44"], Target::One(ConnectorId(1))),
            rule("uk-mobile", &["447"], Target::One(ConnectorId(2))),
            rule("uk-mobile-2", &["447"], Target::One(ConnectorId(3))),
        ]);
        assert_eq!(name(&t, &msg("a", "447700900123")), Some("uk-mobile"));
        assert_eq!(name(&t, &msg("a", "+447700900123")), Some("uk-mobile"));
        assert_eq!(name(&t, &msg("a", "442071234567")), Some("uk"));
        assert_eq!(name(&t, &msg("a", "15551234567")), Some("default"));
        assert_eq!(name(&t, &msg("a", "")), Some("default"));
    }

    #[test]
    fn other_conditions_fall_through_to_shorter_prefixes() {
        let mut vip = rule("vip-uk", &["44"], Target::One(ConnectorId(1)));
        vip.accounts = vec!["vip".into()];
        let mut otp = rule("otp", &[], Target::One(ConnectorId(2)));
        otp.service_types = vec!["OTP".into()];
        let mut brand = rule("brand", &["4"], Target::One(ConnectorId(3)));
        brand.sources = vec!["BRAND".into()];
        let t = RouteTable::new(vec![vip, otp, brand]);
        assert_eq!(name(&t, &msg("vip", "447700900123")), Some("vip-uk"));
        // Not vip, source not BRAND, no service_type: nothing.
        assert_eq!(name(&t, &msg("other", "447700900123")), None);
        let m = Message {
            service_type: b"OTP",
            ..msg("other", "447700900123")
        };
        assert_eq!(name(&t, &m), Some("otp"));
        let m = Message {
            source: b"BRAND-UK",
            ..msg("other", "447700900123")
        };
        assert_eq!(name(&t, &m), Some("brand"));
    }

    #[test]
    fn a_split_follows_its_weights_and_falls_back_to_the_others() {
        let t = Target::Split(vec![(ConnectorId(7), 70), (ConnectorId(8), 30)]);
        let mut firsts = [0u32; 2];
        for roll in 0..1000u32 {
            let plan: Vec<_> = t.plan(roll).collect();
            assert_eq!(plan.len(), 2);
            assert_ne!(plan[0], plan[1]);
            firsts[usize::from(plan[0].0 - 7)] += 1;
        }
        assert_eq!(firsts, [700, 300]);
        let f = Target::Failover(vec![ConnectorId(3), ConnectorId(1), ConnectorId(2)]);
        assert_eq!(
            f.plan(99).collect::<Vec<_>>(),
            vec![ConnectorId(3), ConnectorId(1), ConnectorId(2)]
        );
        let s3 = Target::Split(vec![
            (ConnectorId(1), 1),
            (ConnectorId(2), 1),
            (ConnectorId(3), 1),
        ]);
        assert_eq!(
            s3.plan(1).collect::<Vec<_>>(),
            vec![ConnectorId(2), ConnectorId(1), ConnectorId(3)]
        );
        assert_eq!(
            Target::One(ConnectorId(4)).plan(5).collect::<Vec<_>>(),
            vec![ConnectorId(4)]
        );
    }

    mod model {
        use super::*;
        use proptest::prelude::*;

        /// The table as the spec reads: among the rules that match, the longest prefix wins,
        /// then the earliest rule.
        fn naive(rules: &[Rule], m: &Message<'_>) -> Option<usize> {
            let dest = m.dest.strip_prefix(b"+").unwrap_or(m.dest);
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.matches_rest(m))
                .filter_map(|(i, r)| {
                    if r.prefixes.is_empty() {
                        return Some((0, i));
                    }
                    r.prefixes
                        .iter()
                        .filter(|p| dest.starts_with(p.as_bytes()))
                        .map(|p| (p.len(), i))
                        .max()
                })
                .min_by_key(|&(len, i)| (std::cmp::Reverse(len), i))
                .map(|(_, i)| i)
        }

        proptest! {
            #[test]
            fn the_trie_agrees_with_a_linear_scan(
                rules in proptest::collection::vec(
                    (proptest::collection::vec("[0-9]{0,4}", 0..3), proptest::option::of("[ab]")),
                    1..12,
                ),
                dest in "[0-9]{0,6}",
                account in "[ab]",
            ) {
                let rules: Vec<Rule> = rules
                    .into_iter()
                    .enumerate()
                    .map(|(i, (prefixes, acct))| Rule {
                        name: i.to_string(),
                        accounts: acct.into_iter().collect(),
                        prefixes,
                        sources: vec![],
                        service_types: vec![],
                        target: Target::One(ConnectorId(0)),
                        consent: Default::default(),
                    })
                    .collect();
                let t = RouteTable::new(rules.clone());
                let m = msg(&account, &dest);
                prop_assert_eq!(t.resolve(&m).map(|r| r.index), naive(&rules, &m));
            }
        }
    }
}
