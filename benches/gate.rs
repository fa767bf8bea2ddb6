//! What the consent gate costs a submit: `smpp_router::gate::Gate::check` with every policy
//! off (a transactional account that does not enforce its list) beside every policy on (the
//! opt-out list enforced with 10 million numbers on it, every message marketing, so the
//! quiet-hours check runs against the recipient's zones, and frequency caps counted), on the
//! numbers smpp-bench sends to (1555…: North America, dozens of zones for an unknown area
//! code). The quiet-hours window contains the run's time everywhere, so nothing is held, and
//! the caps are high, so nothing is refused: what is timed is the checks themselves.
//!
//! `cargo bench -p smpp-conformance --bench gate` — ns per submit for each; compare them with
//! the router's CPU per message (benches/e2e) to see what share policies can take.
#![allow(missing_docs, clippy::unwrap_used)] // a benchmark: a failed unwrap is a broken setup

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use smpp_pdu::{Address, Npi, SubmitSm, Ton};
use smpp_router::clock::Clock;
use smpp_router::config::Config;
use smpp_router::consent::Consent;
use smpp_router::gate::{Gate, RouteConsent, Verdict};
use smpp_router::policy::Scope;

const SUPPRESSED: u64 = 10_000_000;

/// An account with `consent` from a minimal config.
fn account(consent: &str) -> smpp_router::config::Account {
    let text = format!(
        "[[accounts]]\nsystem_id = \"bench\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$b+DAhawJI5qHaSXx+Fj70Q$lax3FtbQz/Dd1xsMg24H71bxvqcpE6Gw9jsUHEgkvMg\"\nconsent = {{ {consent} }}\n\
         [[connectors]]\nname = \"c\"\nhosts = [\"127.0.0.1:1\"]\nsystem_id = \"r\"\npassword = \"r\"\n\
         [[routes]]\nconnector = \"c\"\n"
    );
    Config::parse(&text).unwrap().accounts.remove(0)
}

fn submits() -> Vec<SubmitSm> {
    (0..4096)
        .map(|_| SubmitSm {
            source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550100")),
            dest: Address::new(
                Ton(1),
                Npi(1),
                Bytes::from(fastrand::u64(1_555_000_000..=1_555_999_999).to_string()),
            ),
            short_message: Bytes::from_static(b"Half price today only"),
            ..Default::default()
        })
        .collect()
}

fn gate(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(Clock::system());
    let empty = Arc::new(Consent::open(&dir.path().join("empty")).unwrap());
    let full = Arc::new(Consent::open(&dir.path().join("full")).unwrap());
    // Numbers the bench never texts (1666…), as an import would add them.
    let numbers: Vec<(Scope, u64)> = (0..SUPPRESSED)
        .map(|i| (Scope::Global, 116_660_000_000 + i))
        .collect();
    full.change(true, &numbers).unwrap();
    drop(numbers);
    let now = jiff::Timestamp::now();
    let at = |m: i64| {
        now.checked_add(jiff::SignedDuration::from_mins(m))
            .unwrap()
            .strftime("%H:%M")
            .to_string()
    };
    let off = account("enforce = false, quiet_hours = \"off\"");
    let on = account(&format!(
        "marketing = true, quiet_hours = \"{}-{}\", max_per_day = 1000000, max_per_week = 1000000",
        at(60),
        at(30)
    ));
    let route = RouteConsent::default();
    let sms = submits();
    let mut g = c.benchmark_group("gate");
    for (name, consent, account) in [
        ("policies off, empty list", empty, &off),
        ("every policy on, 10M suppressed", full, &on),
    ] {
        let gate = Gate::new(consent, clock.clone(), 1_000_000);
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % sms.len();
                let v = gate.check(account, &route, black_box(&sms[i]), || None);
                assert_eq!(v, Verdict::Send);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
