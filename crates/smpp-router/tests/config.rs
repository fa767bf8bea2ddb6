//! The configuration file: the example parses, and every kind of mistake is refused with the
//! key's dotted path, its line, and what was expected.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use smpp_router::config::{BindMode, Config};
use smpp_router::routes::{ConnectorId, Message, RouteTable, Target};
use smpp_router::Error;

const EXAMPLE: &str = include_str!("../../../config/router.toml");

#[test]
fn the_example_config_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/router.toml");
    let c = Config::load(std::path::Path::new(path)).unwrap();
    assert_eq!(c.node.id, 1);
    assert!(c.node.data_dir.ends_with("../data/router"));
    assert_eq!(c.smpp.listen.to_string(), "127.0.0.1:2775");
    assert_eq!(c.metrics_listen.port(), 9775);
    assert_eq!(c.accounts[0].system_id, "demo");
    assert!(smpp_router::accounts::verify_password(
        &c.accounts[0].password_hash,
        b"demo"
    ));
    let sim = &c.connectors[0];
    assert_eq!(
        (sim.binds, sim.bind, sim.simulate),
        (3, BindMode::Transceiver, true)
    );
    assert_eq!(sim.retention, Duration::from_secs(72 * 3600));
    assert_eq!(c.mo.default_account.as_deref(), Some("demo"));
    let table = RouteTable::new(c.routes);
    let m = Message {
        account: b"demo",
        dest: b"15551234567",
        source: b"DEMO",
        service_type: b"",
    };
    assert_eq!(
        table.resolve(&m).unwrap().rule.target,
        Target::One(ConnectorId(0))
    );
}

#[test]
fn workers_default_to_one_less_than_the_cpus_and_can_be_set() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    let c = Config::parse(EXAMPLE).unwrap();
    assert_eq!(c.node.workers, (cpus - 1).max(1));
    let c = Config::parse(&EXAMPLE.replacen("id = 1 ", "id = 1\nworkers = 3 ", 1)).unwrap();
    assert_eq!(c.node.workers, 3);
}

#[test]
fn the_commit_delay_is_off_unless_set() {
    let c = Config::parse(EXAMPLE).unwrap();
    assert_eq!(c.node.commit_delay, Duration::ZERO);
    for (text, want) in [("250us", 250), ("2ms", 2000), ("0.5ms", 500), ("0us", 0)] {
        let config = EXAMPLE.replacen("id = 1 ", &format!("id = 1\ncommit_delay = {text:?} "), 1);
        let c = Config::parse(&config).unwrap();
        assert_eq!(c.node.commit_delay, Duration::from_micros(want), "{text}");
    }
}

/// Replaces `from` by `to` in the example (exactly once) and returns the error.
fn broken(from: &str, to: &str) -> (String, usize, String) {
    assert_eq!(EXAMPLE.matches(from).count(), 1, "{from:?} must occur once");
    let text = EXAMPLE.replacen(from, to, 1);
    match Config::parse(&text) {
        Err(Error::Config { key, line, message }) => (key, line, message),
        other => panic!("{from:?} → {to:?} was accepted: {other:?}"),
    }
}

fn line_of(needle: &str, text: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// The example with `from` replaced by `to` is refused naming `key`, with `message` in its
/// text, on the (first) line holding `at`.
fn assert_refused(from: &str, to: &str, key: &str, message: &str, at: &str) {
    let (k, line, m) = broken(from, to);
    assert_eq!(k, key, "{from:?} → {to:?}: {m}");
    assert!(
        m.contains(message),
        "{from:?} → {to:?}: {m:?} lacks {message:?}"
    );
    let text = EXAMPLE.replacen(from, to, 1);
    assert_eq!(line, line_of(at, &text), "{from:?} → {to:?}: {m}");
}

#[test]
fn every_mistake_names_its_key_and_line() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (replace, with, expected key, part of the message)
        ("id = 1 ", "id = 5000 ", "node.id", "out of range"),
        (
            "id = 1 ",
            "id = 1\nworkers = 0 ",
            "node.workers",
            "out of range",
        ),
        (
            "id = 1 ",
            "id = 1\ncommit_delay = \"20ms\" ",
            "node.commit_delay",
            "too long",
        ),
        (
            "id = 1 ",
            "id = 1\ncommit_delay = \"soon\" ",
            "node.commit_delay",
            "not a duration",
        ),
        (
            "listen = \"127.0.0.1:2775\"",
            "listen = \"localhost\"",
            "smpp.listen",
            "address:port",
        ),
        (
            "bind_timeout = \"10s\"",
            "bind_timeout = \"ten\"",
            "smpp.bind_timeout",
            "not a duration",
        ),
        (
            "bind_timeout = \"10s\"",
            "bind_timeout = \"10s\"\nmax_in_flight = 0",
            "smpp.max_in_flight",
            "out of range",
        ),
        (
            "window = 100                # deliver_sm",
            "window = 0 # deliver_sm",
            "smpp.window",
            "out of range",
        ),
        (
            "system_id = \"demo\"",
            "system_id = \"a-very-long-system-id\"",
            "accounts[0].system_id",
            "1 to 15",
        ),
        (
            "password_hash = \"$argon2id",
            "password_hash = \"x$argon2id",
            "accounts[0].password_hash",
            "hash-password",
        ),
        (
            "\"127.0.0.0/8\", \"::1/128\"",
            "\"127.0.0.0/33\"",
            "accounts[0].networks[0]",
            "not a network",
        ),
        (
            "numbers = [\"15550100\"]",
            "numbers = [\"15550100x\"]",
            "accounts[0].numbers[0]",
            "not a number",
        ),
        (
            "id_format = \"hex\"",
            "id_format = \"octal\"",
            "accounts[0].id_format",
            "unknown variant",
        ),
        (
            "hosts = [\"127.0.0.1:2776\"]",
            "hosts = [\"127.0.0.1\"]",
            "connectors[0].hosts",
            "host:port",
        ),
        (
            "hosts = [\"127.0.0.1:2776\"]",
            "hosts = [\"carrier.example:2776\"]",
            "connectors[0].hosts",
            "with simulate = true the first host is where the simulated carrier listens",
        ),
        (
            "bind = \"trx\"",
            "bind = \"rx\"",
            "connectors[0].bind",
            "trx",
        ),
        (
            "binds = 3",
            "binds = 0",
            "connectors[0].binds",
            "out of range",
        ),
        (
            "password = \"router\"",
            "password = \"much-too-long\"",
            "connectors[0].password",
            "8 characters",
        ),
        (
            "reconnect_max = \"30s\"",
            "reconnect_max = \"100ms\"",
            "connectors[0].reconnect_max",
            "reconnect_initial",
        ),
        (
            "retention = \"72h\"",
            "retention = \"72 hours\"",
            "connectors[0].retention",
            "not a duration",
        ),
        (
            "connector = \"sim\"",
            "connector = \"nope\"",
            "routes[0].connector",
            "no connector is named \"nope\"",
        ),
        (
            "default_account = \"demo\"",
            "default_account = \"ghost\"",
            "mo.default_account",
            "no account",
        ),
        (
            "queue = 10000",
            "queue = 10000\nwindw = 3",
            "connectors[0].windw",
            "unknown field",
        ),
        (
            "system_id = \"router\"",
            "system_id = 7",
            "connectors[0].system_id",
            "invalid type",
        ),
    ];
    for &(from, to, key, message) in cases {
        assert_refused(from, to, key, message, to.lines().last().unwrap());
    }
}

/// Limits, durations that must not be zero, and structure, each named by its path and the
/// line of the value (found by `at`, which occurs once in the broken text).
#[test]
fn limits_and_zero_durations_are_refused_by_name() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        // (replace, with, expected key, part of the message, the line's text)
        (
            "max_binds = 8",
            "max_binds = 0",
            "accounts[0].max_binds",
            "out of range",
            "max_binds = 0",
        ),
        (
            "max_binds = 8",
            "max_binds = 8\ntps = 0",
            "accounts[0].tps",
            "out of range",
            "tps = 0",
        ),
        (
            "window = 100                # deliver_sm",
            "window = 0                # deliver_sm",
            "smpp.window",
            "out of range",
            "window = 0",
        ),
        (
            "window = 100\nenquire_link",
            "window = 0\nenquire_link",
            "connectors[0].window",
            "out of range",
            "window = 0",
        ),
        (
            "binds = 3 ",
            "binds = 3\nbind_tps = 0 ",
            "connectors[0].bind_tps",
            "out of range",
            "bind_tps = 0",
        ),
        (
            "queue = 10000 ",
            "queue = 10000\ntps = 0 ",
            "connectors[0].tps",
            "out of range",
            "tps = 0",
        ),
        (
            "hosts = [\"127.0.0.1:2776\"]",
            "hosts = []",
            "connectors[0].hosts",
            "at least one",
            "hosts = []",
        ),
        (
            "conversation_window = \"24h\"",
            "conversation_window = \"ages\"",
            "mo.conversation_window",
            "not a duration",
            "conversation_window",
        ),
        (
            "bind_timeout = \"10s\"",
            "bind_timeout = \"0s\"",
            "smpp.bind_timeout",
            "more than 0",
            "bind_timeout",
        ),
        (
            "enquire_link = \"30s\"\nwindow = 100                # deliver_sm",
            "enquire_link = \"0ms\"\nwindow = 100                # deliver_sm",
            "smpp.enquire_link",
            "more than 0",
            "enquire_link = \"0ms\"",
        ),
        (
            "response_budget = \"5s\"",
            "response_budget = \"0s\"",
            "smpp.response_budget",
            "more than 0",
            "response_budget",
        ),
        (
            "enquire_link = \"30s\"\nresponse_timeout",
            "enquire_link = \"0s\"\nresponse_timeout",
            "connectors[0].enquire_link",
            "more than 0",
            "enquire_link = \"0s\"",
        ),
        (
            "response_timeout = \"10s\"",
            "response_timeout = \"0s\"",
            "connectors[0].response_timeout",
            "more than 0",
            "response_timeout",
        ),
        (
            "reconnect_initial = \"200ms\"",
            "reconnect_initial = \"0ms\"",
            "connectors[0].reconnect_initial",
            "more than 0",
            "reconnect_initial",
        ),
        (
            "retention = \"72h\"",
            "retention = \"0d\"",
            "connectors[0].retention",
            "more than 0",
            "retention",
        ),
        (
            "max_binds = 8",
            "max_binds = 8\npending_ttl = \"0s\"",
            "accounts[0].pending_ttl",
            "more than 0",
            "pending_ttl",
        ),
    ];
    for &(from, to, key, message, at) in cases {
        let text = EXAMPLE.replacen(from, to, 1);
        assert_eq!(text.matches(at).count(), 1, "{at:?} must occur once");
        assert_refused(from, to, key, message, at);
    }
    // A second account with the first one's system_id.
    let twice = format!("{EXAMPLE}\n[[accounts]]\nsystem_id = \"demo\"\npassword_hash = \"x\"\n");
    let Err(Error::Config { key, message, .. }) = Config::parse(&twice) else {
        panic!("accepted")
    };
    assert_eq!(key, "accounts[1].system_id", "{message}");
}

/// Mistakes the TOML layer itself finds (a missing field, a wrong type inside an array of
/// tables) are named by their whole path, as the later checks name theirs.
#[test]
fn parse_errors_name_the_whole_path() {
    let missing = EXAMPLE.replacen("system_id = \"router\"\n", "", 1);
    let Err(Error::Config { key, line, message }) = Config::parse(&missing) else {
        panic!("accepted")
    };
    assert_eq!(key, "connectors[0].system_id", "{message}");
    assert!(message.contains("missing field"), "{message}");
    assert!(line > 0);
    // The second connector's key, not the first's.
    let two = format!(
        "{EXAMPLE}\n[[connectors]]\nname = \"other\"\nhosts = [\"127.0.0.1:2777\"]\n\
         system_id = \"x\"\npassword = \"y\"\nbinds = \"three\"\n"
    );
    let Err(Error::Config { key, line, .. }) = Config::parse(&two) else {
        panic!("accepted")
    };
    assert_eq!(key, "connectors[1].binds");
    assert_eq!(line, line_of("binds = \"three\"", &two));
}

#[test]
fn route_targets_are_checked() {
    let base = EXAMPLE.replace("connector = \"sim\"", "TARGET");
    let parse = |t: &str| Config::parse(&base.replace("TARGET", t));
    let c = parse("failover = [\"sim\", \"sim\"]").unwrap();
    assert_eq!(
        c.routes[0].target,
        Target::Failover(vec![ConnectorId(0), ConnectorId(0)])
    );
    let c = parse("split = { sim = 3 }").unwrap();
    assert_eq!(c.routes[0].target, Target::Split(vec![(ConnectorId(0), 3)]));
    for bad in [
        "",
        "connector = \"sim\"\nfailover = [\"sim\"]",
        "split = { sim = 0 }",
        "failover = []",
    ] {
        let Err(Error::Config { key, .. }) = parse(bad) else {
            panic!("{bad:?} accepted")
        };
        assert!(key.starts_with("routes[0]"), "{bad:?}: {key}");
    }
    // A duplicate connector name.
    let twice = format!(
        "{EXAMPLE}\n[[connectors]]\nname = \"sim\"\nhosts = [\"127.0.0.1:2777\"]\nsystem_id = \"x\"\npassword = \"y\"\n"
    );
    let Err(Error::Config { key, line, message }) = Config::parse(&twice) else {
        panic!("duplicate accepted")
    };
    assert_eq!(key, "connectors[1].name");
    assert_eq!(
        line,
        line_of("name = \"sim\"", &twice[EXAMPLE.len()..]) + EXAMPLE.lines().count()
    );
    assert!(message.contains("twice"));
}

#[test]
fn an_unreadable_file_names_its_path() {
    let err = Config::load(std::path::Path::new("/nonexistent/router.toml")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/router.toml"),
        "{err}"
    );
}

#[test]
fn consent_settings_are_read_per_account() {
    use smpp_router::consent::OptOutScope;
    let text = EXAMPLE.replacen(
        "numbers = [\"15550100\"]",
        "numbers = [\"15550100\"]\nconsent = { opt_out = \"account\", refuse_status = 0x400, \
         stop_reply = \"Bye from Demo\", stop_words = [\"arret\"], enforce = false }",
        1,
    );
    let c = Config::parse(&text).unwrap();
    let consent = &c.accounts[0].consent;
    assert_eq!(consent.opt_out, OptOutScope::Account);
    assert_eq!(consent.refuse_status, smpp_pdu::CommandStatus(0x400));
    assert_eq!(consent.replies.stop, "Bye from Demo");
    assert_eq!(consent.keywords.stop, vec!["ARRET".to_string()]);
    assert!(!consent.enforce);
    // Defaults: enforced, per sender, ESME_RX_R_APPN.
    let d = &Config::parse(EXAMPLE).unwrap().accounts[0].consent;
    assert!(d.enforce);
    assert_eq!(d.opt_out, OptOutScope::Sender);
    assert_eq!(d.refuse_status, smpp_pdu::CommandStatus::X_R_APPN);
    let bad = EXAMPLE.replacen(
        "numbers = [\"15550100\"]",
        "consent = { opt_out = \"planet\" }",
        1,
    );
    let Err(Error::Config { key, .. }) = Config::parse(&bad) else {
        panic!("accepted")
    };
    assert_eq!(key, "accounts[0].consent");
}

#[test]
fn quiet_hours_marketing_marks_and_route_overrides_are_read_and_checked() {
    use smpp_router::gate::{QuietAction, RouteConsent};
    let text = EXAMPLE
        .replacen(
            "numbers = [\"15550100\"]",
            "numbers = [\"15550100\"]\nconsent = { marketing_tlv = 0x1400, quiet_action = \"refuse\", \
             quiet_hours = \"09:30-20:00\" }",
            1,
        )
        .replacen(
            "connector = \"sim\"",
            "connector = \"sim\"\nconsent = { marketing = true, quiet_hours = \"off\", max_per_day = 0, max_per_week = 5 }",
            1,
        );
    let c = Config::parse(&text).unwrap();
    let consent = &c.accounts[0].consent;
    assert_eq!(consent.marketing_tlv, Some(0x1400));
    assert_eq!(consent.quiet_action, QuietAction::Refuse);
    assert_eq!(
        consent
            .quiet_hours
            .map(|w| (w.start.hour(), w.start.minute())),
        Some((9, 30))
    );
    assert_eq!(
        c.routes[0].consent,
        RouteConsent {
            marketing: Some(true),
            quiet_hours: Some(None),
            max_per_day: Some(None),
            max_per_week: Some(Some(5)),
            ..RouteConsent::default()
        }
    );
    // Defaults: hold, no TLV, and a route that changes nothing.
    let d = Config::parse(EXAMPLE).unwrap();
    assert_eq!(d.accounts[0].consent.quiet_action, QuietAction::Hold);
    assert_eq!(d.accounts[0].consent.marketing_tlv, None);
    assert_eq!(d.routes[0].consent, RouteConsent::default());
    // Mistakes name their keys.
    for (to, key) in [
        (
            "connector = \"sim\"\nconsent = { quiet_hours = \"late\" }",
            "routes[0].consent.quiet_hours",
        ),
        (
            "connector = \"sim\"\nconsent = { max_per_day = -1 }",
            "routes[0].consent.max_per_day",
        ),
    ] {
        let Err(Error::Config { key: got, line, .. }) =
            Config::parse(&EXAMPLE.replacen("connector = \"sim\"", to, 1))
        else {
            panic!("{to:?} accepted")
        };
        assert_eq!(got, key);
        assert!(line > 1);
    }
    let bad = EXAMPLE.replacen(
        "numbers = [\"15550100\"]",
        "consent = { marketing_tlv = 70000 }",
        1,
    );
    let Err(Error::Config { key, .. }) = Config::parse(&bad) else {
        panic!("accepted")
    };
    assert_eq!(key, "accounts[0].consent.marketing_tlv");
}

#[test]
fn pending_queue_bounds_are_read_per_account_and_checked() {
    let text = EXAMPLE.replacen(
        "numbers = [\"15550100\"]",
        "numbers = [\"15550100\"]\npending_max = 5000\npending_ttl = \"2d\"",
        1,
    );
    let c = Config::parse(&text).unwrap();
    assert_eq!(c.accounts[0].pending_max, 5000);
    assert_eq!(
        c.accounts[0].pending_ttl,
        std::time::Duration::from_secs(2 * 86400)
    );
    let d = Config::parse(EXAMPLE).unwrap();
    assert_eq!(d.accounts[0].pending_max, 1_000_000);
    assert_eq!(
        d.accounts[0].pending_ttl,
        std::time::Duration::from_secs(72 * 3600)
    );
    for (extra, key) in [
        ("pending_max = 0", "accounts[0].pending_max"),
        ("pending_ttl = \"0s\"", "accounts[0].pending_ttl"),
        ("pending_ttl = \"soon\"", "accounts[0].pending_ttl"),
    ] {
        let bad = EXAMPLE.replacen(
            "numbers = [\"15550100\"]",
            &format!("numbers = [\"15550100\"]\n{extra}"),
            1,
        );
        let Err(Error::Config { key: got, line, .. }) = Config::parse(&bad) else {
            panic!("{extra:?} accepted")
        };
        assert_eq!((got.as_str(), line), (key, line_of(extra, &bad)));
    }
}

/// `country_code` and the prefixes: `[node]`'s are inherited by accounts and connectors, a
/// country code brings its own prefixes, and bad values name their key and line.
#[test]
fn home_countries_are_inherited_and_checked() {
    let intl = |n: &smpp_router::numbering::Numbering, ton: u8, number: &str| {
        let mut buf = [0; smpp_router::numbering::MAX];
        String::from_utf8_lossy(n.international(smpp_pdu::Ton(ton), number.as_bytes(), &mut buf))
            .into_owned()
    };
    let text = EXAMPLE
        .replacen("id = 1 ", "id = 1\ncountry_code = \"44\" ", 1)
        .replacen(
            "numbers = [\"15550100\"]",
            "numbers = [\"15550100\"]\ncountry_code = \"1\"",
            1,
        );
    let c = Config::parse(&text).unwrap();
    assert_eq!(c.node.numbering.country_code(), Some("44"));
    assert_eq!(c.connectors[0].numbering, c.node.numbering);
    assert_eq!(
        intl(&c.connectors[0].numbering, 2, "07700900123"),
        "447700900123"
    );
    // The account is American: trunk prefix 1, international prefix 011.
    assert_eq!(
        intl(&c.accounts[0].numbering, 2, "12125550123"),
        "12125550123"
    );
    assert_eq!(
        intl(&c.accounts[0].numbering, 0, "011447700900123"),
        "447700900123"
    );
    // Nothing said: no home country.
    let d = Config::parse(EXAMPLE).unwrap();
    // A reload that changes only how MO numbers are read keeps the carrier's binds.
    assert!(d.connectors[0].same_binds(&c.connectors[0]));
    let mut wider = d.connectors[0].clone();
    wider.window += 1;
    assert!(!d.connectors[0].same_binds(&wider));
    assert_eq!(d.accounts[0].numbering.country_code(), None);
    assert_eq!(
        intl(&d.accounts[0].numbering, 2, "07700900123"),
        "07700900123"
    );

    for (at, extra, key) in [
        ("id = 1 ", "country_code = \"0044\"", "node.country_code"),
        ("id = 1 ", "country_code = \"04\"", "node.country_code"),
        (
            "numbers = [\"15550100\"]",
            "country_code = \"+44\"",
            "accounts[0].country_code",
        ),
        (
            "numbers = [\"15550100\"]",
            "trunk_prefix = \"0000\"",
            "accounts[0].trunk_prefix",
        ),
        (
            "binds = 3 ",
            "international_prefix = \"\"",
            "connectors[0].international_prefix",
        ),
    ] {
        let bad = EXAMPLE.replacen(at, &format!("{at}\n{extra}\n"), 1);
        let Err(Error::Config { key: got, line, .. }) = Config::parse(&bad) else {
            panic!("{extra:?} accepted")
        };
        assert_eq!((got.as_str(), line), (key, line_of(extra, &bad)), "{extra}");
    }
}
