//! The ops files — `docker-compose.yml`, `Dockerfile`, `.dockerignore` and `deploy/` (router
//! config for compose, Prometheus config and alert rules, Grafana provisioning and dashboard) —
//! checked here, where no Docker engine runs:
//! - the Dockerfile copies only what exists and is in the build context, covers every workspace
//!   target, and builds and runs binaries the workspace has;
//! - the compose file refers only to files, services, volumes and ports that exist and agree
//!   with the router config it mounts (ports on 127.0.0.1 only);
//! - Prometheus's `promtool` accepts the config, the rules (and their unit tests) and the
//!   metrics text a running router serves;
//! - every metric and label the dashboard and the rules name is exported by a running router;
//! - a real Prometheus (on 127.0.0.1, 1 s scrapes, temp storage, killed at the end) scrapes a
//!   router with traffic through it, evaluates the rules without error and answers every
//!   dashboard query.
//!
//! `promtool` and `prometheus` come from Debian's `prometheus` package, the YAML parser from
//! `python3-yaml`; when absent, the tests that need them print a note and pass.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;
use support::{customer, daemon, sim, DEMO_HASH};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use smpp_pdu::{Address, Body, Npi, SubmitSm, Ton};
use smpp_router::config::Config;
use smpp_router::daemon::Daemon;
use smpp_session::BindKind;
use smpp_tokio::{Esme, EsmeConfig, NoObserver};
use smpp_tools::bench::{self, BenchConfig};
use smpp_tools::sim::{SimConfig, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The binaries the image must run, from the tools crate and the router crate.
const IMAGE_BINS: [&str; 3] = ["smpp-router", "smpp-sim", "smpp-bench"];

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// An executable on `PATH`, or `None` with a note that the test part needing it is skipped.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        println!(
            "note: {name} is not installed (Debian package {package}); skipping what needs it"
        );
    }
    found
}

/// Runs `cmd` with `input` on stdin, killing it after `limit`. Returns (success, stdout+stderr).
fn run_bounded(cmd: &mut Command, input: &[u8], limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let reader = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    let text = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    match status {
        Some(s) => (s.success(), text),
        None => (
            false,
            format!("{cmd:?} still running after {limit:?}\n{text}"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// YAML (through python3 + PyYAML, when present) and the workspace (through cargo metadata).

const YAML_TO_JSON: &str = "import json, sys\n\
try:\n    import yaml\nexcept ImportError:\n    sys.exit(3)\n\
print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))\n";

/// The YAML file at `rel` as JSON, or `None` (with a note) when no python3 with PyYAML exists.
fn yaml(rel: &str) -> Option<Value> {
    for python in ["python3", "/usr/bin/python3"] {
        let mut cmd = Command::new(python);
        cmd.arg("-c").arg(YAML_TO_JSON).arg(root().join(rel));
        let Ok(out) = cmd.stdin(Stdio::null()).output() else {
            continue;
        };
        match out.status.code() {
            Some(0) => return Some(serde_json::from_slice(&out.stdout).unwrap()),
            Some(3) => continue,
            _ => panic!(
                "{rel} is not valid YAML:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    println!("note: no python3 with PyYAML (Debian package python3-yaml); {rel} not parsed");
    None
}

/// Packages of the workspace: name → (its bin targets, every target's source path).
fn workspace() -> BTreeMap<String, (BTreeSet<String>, Vec<PathBuf>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(root().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut packages = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let mut bins = BTreeSet::new();
        let mut sources = vec![PathBuf::from(p["manifest_path"].as_str().unwrap())];
        for t in p["targets"].as_array().unwrap() {
            if t["kind"].as_array().unwrap().iter().any(|k| k == "bin") {
                bins.insert(t["name"].as_str().unwrap().to_owned());
            }
            sources.push(PathBuf::from(t["src_path"].as_str().unwrap()));
        }
        packages.insert(p["name"].as_str().unwrap().to_owned(), (bins, sources));
    }
    packages
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile and its build context.

/// `.dockerignore` as Docker reads it (moby's patternmatcher): a pattern matches a path when
/// it matches the path or one of its parent folders; the last pattern that matches decides,
/// `!` re-including.
fn in_build_context(patterns: &[(bool, String)], rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    let mut included = true;
    for (negated, pattern) in patterns {
        if (1..=parts.len()).any(|n| glob(pattern, &parts[..n].join("/"))) {
            included = *negated;
        }
    }
    included
}

/// A Docker-style glob over `/`-separated paths: `*` within a segment, `**` any segments.
fn glob(pattern: &str, path: &str) -> bool {
    fn segments(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => segments(&p[1..], s) || (!s.is_empty() && segments(p, &s[1..])),
            (Some(a), Some(b)) => segment(a.as_bytes(), b.as_bytes()) && segments(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn segment(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => segment(&p[1..], s) || (!s.is_empty() && segment(p, &s[1..])),
            (Some(a), Some(b)) => (a == b || *a == b'?') && segment(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    segments(&p, &s)
}

/// The Dockerfile's instructions: (keyword, arguments), continuation lines joined.
fn dockerfile() -> Vec<(String, Vec<String>)> {
    let text = read("Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if current.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(more) = t.strip_suffix('\\') {
            current.push_str(more);
            current.push(' ');
            continue;
        }
        current.push_str(t);
        let mut words = current.split_whitespace().map(str::to_owned);
        let keyword = words.next().unwrap().to_uppercase();
        out.push((keyword, words.collect()));
        current.clear();
    }
    assert!(current.is_empty(), "Dockerfile ends in a continuation");
    out
}

/// The words of a CMD/ENTRYPOINT in exec form (`["a", "b"]`) or shell form.
fn exec_words(args: &[String]) -> Vec<String> {
    let joined = args.join(" ");
    match serde_json::from_str::<Vec<String>>(&joined) {
        Ok(words) => words,
        Err(_) => args.to_vec(),
    }
}

#[test]
fn dockerfile_copies_what_exists_and_builds_what_the_workspace_has() {
    let root = root();
    let patterns: Vec<(bool, String)> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(p) => (true, p.to_owned()),
            None => (false, l.to_owned()),
        })
        .collect();
    let packages = workspace();
    let all_bins: BTreeSet<&str> = packages
        .values()
        .flat_map(|(b, _)| b.iter().map(String::as_str))
        .collect();

    let mut stages = BTreeSet::new();
    let mut copied = Vec::new(); // context paths copied into a build stage
    let mut built = BTreeSet::new(); // --bin names
    let mut installed = BTreeSet::new(); // binaries copied into the final stage
    let mut cmd = Vec::new();
    let instructions = dockerfile();
    assert_eq!(instructions[0].0, "FROM", "the first instruction is FROM");
    let last_from = instructions.iter().rposition(|(k, _)| k == "FROM").unwrap();
    for (i, (keyword, args)) in instructions.iter().enumerate() {
        match keyword.as_str() {
            "FROM" => {
                if let [_, as_, name] = &args[..] {
                    assert!(as_.eq_ignore_ascii_case("as"), "FROM {args:?}");
                    stages.insert(name.clone());
                }
            }
            "COPY" | "ADD" => {
                let from = args
                    .iter()
                    .find_map(|a| a.strip_prefix("--from="))
                    .map(str::to_owned);
                let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
                assert!(paths.len() >= 2, "{keyword} {args:?}");
                let (sources, dest) = paths.split_at(paths.len() - 1);
                match from {
                    Some(stage) => {
                        assert!(
                            stages.contains(&stage),
                            "COPY --from={stage}: no such stage"
                        );
                        if i > last_from && dest[0].ends_with("/bin/") {
                            for s in sources {
                                installed.insert(s.rsplit('/').next().unwrap().to_owned());
                            }
                        }
                    }
                    None => {
                        for s in sources {
                            let rel = s.trim_start_matches("./");
                            assert!(root.join(rel).exists(), "COPY {s}: no such file");
                            assert!(
                                in_build_context(&patterns, rel),
                                "COPY {s}: excluded by .dockerignore"
                            );
                            copied.push(rel.to_owned());
                        }
                    }
                }
            }
            "RUN" => {
                // Flags of cargo commands only (not `mkdir -p`).
                let mut cargo_args = Vec::new();
                let mut in_cargo = false;
                for a in args {
                    match a.as_str() {
                        "cargo" => in_cargo = true,
                        "&&" | ";" | "||" => in_cargo = false,
                        _ if in_cargo => cargo_args.push(a.clone()),
                        _ => {}
                    }
                }
                for pair in cargo_args.windows(2) {
                    match pair[0].as_str() {
                        "-p" | "--package" => assert!(
                            packages.contains_key(&pair[1]),
                            "RUN builds package {}: not in the workspace",
                            pair[1]
                        ),
                        "--bin" => {
                            assert!(
                                all_bins.contains(pair[1].as_str()),
                                "RUN builds --bin {}: no such binary",
                                pair[1]
                            );
                            built.insert(pair[1].clone());
                        }
                        _ => {}
                    }
                }
                for a in args {
                    if let Some(bin) = a.strip_prefix("target/release/") {
                        assert!(built.contains(bin), "RUN copies {a}, which is not built");
                    }
                }
            }
            "CMD" | "ENTRYPOINT" => cmd = exec_words(args),
            _ => {}
        }
    }
    for bin in IMAGE_BINS {
        assert!(built.contains(bin), "the image does not build {bin}");
        assert!(
            installed.contains(bin),
            "the final stage does not install {bin}"
        );
    }
    assert!(
        installed.contains(cmd.first().map_or("", String::as_str)),
        "CMD {cmd:?} runs no installed binary"
    );
    // The config CMD names is copied into the image from deploy/.
    let config = cmd
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1].clone())
        .expect("CMD passes --config");
    assert!(
        instructions
            .iter()
            .any(|(k, a)| k == "COPY" && a.last() == Some(&config)),
        "CMD's config {config} is not copied into the image"
    );
    // Every source file of every workspace target is in what the build stage copies, so cargo
    // can load the workspace.
    for (name, (_, sources)) in &packages {
        for src in sources {
            let rel = src
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert!(
                copied
                    .iter()
                    .any(|c| rel == *c || rel.starts_with(&format!("{c}/"))),
                "{name}: {rel} is not copied into the build stage"
            );
            assert!(
                in_build_context(&patterns, &rel),
                "{name}: {rel} is excluded by .dockerignore"
            );
        }
    }
    // Big or private things stay out of the context.
    for rel in [
        "target/release",
        "data/router",
        ".git/config",
        "fuzz/Cargo.toml",
    ] {
        assert!(!in_build_context(&patterns, rel), "{rel} is in the context");
    }
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

/// `host:port` → port.
fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("{addr:?} is not host:port"))
}

/// A service's command as words.
fn command(service: &Value) -> Vec<String> {
    match &service["command"] {
        Value::Array(a) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The value after `flag` in `words` (`--flag value` or `--flag=value`).
fn flag(words: &[String], flag: &str) -> Option<String> {
    words.iter().enumerate().find_map(|(i, w)| {
        if w == flag {
            words.get(i + 1).cloned()
        } else {
            w.strip_prefix(&format!("{flag}=")).map(str::to_owned)
        }
    })
}

/// A service's bind mounts: container path → host path (relative to the root).
fn mounts(service: &Value, volumes: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in service["volumes"].as_array().into_iter().flatten() {
        let v = v.as_str().expect("short volume syntax");
        let mut parts = v.split(':');
        let (source, target) = (parts.next().unwrap(), parts.next().unwrap());
        if source.starts_with('.') || source.starts_with('/') {
            let rel = source.trim_start_matches("./").to_owned();
            assert!(root().join(&rel).exists(), "volume {v}: no such path");
            out.insert(target.to_owned(), rel);
        } else {
            assert!(
                volumes.get(source).is_some(),
                "volume {v}: {source} is not declared under volumes"
            );
        }
    }
    out
}

/// The host file a container path of `service` maps to, through its bind mounts.
fn host_path(mounts: &BTreeMap<String, String>, container: &str) -> Option<PathBuf> {
    mounts.iter().find_map(|(target, source)| {
        let rest = container.strip_prefix(target.as_str())?;
        let rest = rest.trim_start_matches('/');
        Some(if rest.is_empty() {
            root().join(source)
        } else {
            root().join(source).join(rest)
        })
    })
}

#[test]
fn compose_file_refers_only_to_what_exists_and_agrees_with_the_router_config() {
    let Some(compose) = yaml("docker-compose.yml") else {
        return;
    };
    let services = compose["services"].as_object().expect("services");
    let volumes = &compose["volumes"];
    for name in ["router", "carrier-a", "carrier-b", "prometheus", "grafana"] {
        assert!(services.contains_key(name), "no service {name}");
    }
    let bins: BTreeSet<String> = workspace().into_values().flat_map(|(b, _)| b).collect();
    let mut all_mounts = BTreeMap::new();
    for (name, s) in services {
        // Built here or pulled by a pinned tag; our image is always built, never pulled.
        let image = s["image"].as_str().unwrap_or("");
        if let Some(build) = s.get("build") {
            let context = root().join(build["context"].as_str().unwrap_or("."));
            assert!(context.is_dir(), "{name}: no build context {context:?}");
            let dockerfile = build["dockerfile"].as_str().unwrap_or("Dockerfile");
            assert!(
                context.join(dockerfile).is_file(),
                "{name}: no {dockerfile}"
            );
            let words = command(s);
            let bin = words.first().expect("our image's services name a command");
            assert!(
                IMAGE_BINS.contains(&bin.as_str()) && bins.contains(bin),
                "{name} runs {bin}, which the image does not hold"
            );
        } else {
            assert!(
                image.contains(':') && !image.ends_with(":latest") && !image.contains("local"),
                "{name}: pulled images are pinned by tag, got {image:?}"
            );
        }
        for p in s["ports"].as_array().into_iter().flatten() {
            let p = p.as_str().expect("short port syntax");
            assert!(
                p.starts_with("127.0.0.1:"),
                "{name}: port {p} is published beyond 127.0.0.1"
            );
        }
        for d in s["depends_on"].as_array().into_iter().flatten() {
            let d = d.as_str().unwrap();
            assert!(
                services.contains_key(d),
                "{name} depends on {d}: no such service"
            );
        }
        all_mounts.insert(name.clone(), mounts(s, volumes));
    }

    // The router runs the config it mounts, which loads, and whose connectors are the
    // simulated carriers' services at the ports they listen on.
    let router = &services["router"];
    let words = command(router);
    let config_in_container = flag(&words, "--config").expect("router --config");
    let config_path = host_path(&all_mounts["router"], &config_in_container)
        .expect("the router's config is mounted");
    assert_eq!(config_path, root().join("deploy/router.toml"));
    let config = Config::load(&config_path).unwrap();
    assert!(
        config.smpp.listen.ip().is_unspecified(),
        "listen on all interfaces in a container"
    );
    assert!(config.metrics_listen.ip().is_unspecified());
    let published: BTreeSet<u16> = router["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(published.contains(&config.smpp.listen.port()));
    assert!(published.contains(&config.metrics_listen.port()));
    assert_eq!(config.connectors.len(), 2, "two carriers");
    for c in &config.connectors {
        assert!(!c.simulate, "{}: compose runs smpp-sim containers", c.name);
        for host in &c.hosts {
            let (service, _) = host.rsplit_once(':').unwrap();
            let sim = services
                .get(service)
                .unwrap_or_else(|| panic!("connector {} → {host}: no such service", c.name));
            let sim_words = command(sim);
            assert_eq!(sim_words[0], "smpp-sim", "{service}");
            let listen = flag(&sim_words, "--listen").expect("smpp-sim --listen");
            assert_eq!(
                port_of(&listen),
                port_of(host),
                "{service} listens on {listen}"
            );
        }
    }
    // Traffic generators bind to the router's SMPP port with accounts of the config.
    for (name, s) in services {
        let words = command(s);
        if words.first().map(String::as_str) == Some("smpp-bench") {
            let connect = flag(&words, "--connect").unwrap();
            assert_eq!(
                connect,
                format!("router:{}", config.smpp.listen.port()),
                "{name}"
            );
            let id = flag(&words, "--system-id").unwrap();
            assert!(
                config.accounts.iter().any(|a| a.system_id == id),
                "{name}: no account {id}"
            );
        }
    }

    // Prometheus reads the config in deploy/prometheus and scrapes the router's metrics port.
    let prometheus = &services["prometheus"];
    let config_file = flag(&command(prometheus), "--config.file").unwrap();
    let prom_config = host_path(&all_mounts["prometheus"], &config_file).unwrap();
    assert_eq!(prom_config, root().join("deploy/prometheus/prometheus.yml"));
    let prom = yaml("deploy/prometheus/prometheus.yml").unwrap();
    for f in prom["rule_files"].as_array().unwrap() {
        assert!(root()
            .join("deploy/prometheus")
            .join(f.as_str().unwrap())
            .is_file());
    }
    let targets: Vec<&str> = prom["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|j| j["static_configs"].as_array().unwrap())
        .flat_map(|s| s["targets"].as_array().unwrap())
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [format!("router:{}", config.metrics_listen.port())],
        "Prometheus scrapes the router"
    );

    // Grafana: provisioning mounted where Grafana reads it, its data source is the Prometheus
    // service, its dashboard provider's folder is mounted and holds the dashboard.
    let grafana = &all_mounts["grafana"];
    let provisioning = host_path(grafana, "/etc/grafana/provisioning").unwrap();
    assert_eq!(provisioning, root().join("deploy/grafana/provisioning"));
    let ds = yaml("deploy/grafana/provisioning/datasources/prometheus.yml").unwrap();
    let ds = &ds["datasources"][0];
    assert_eq!(ds["type"], "prometheus");
    assert_eq!(ds["url"], "http://prometheus:9090");
    let dash = dashboard();
    let uid = ds["uid"].as_str().unwrap();
    for p in panels(&dash) {
        assert_eq!(p["datasource"]["uid"], uid, "panel {}", p["title"]);
    }
    let providers = yaml("deploy/grafana/provisioning/dashboards/smpp-router.yml").unwrap();
    let folder = providers["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let folder = host_path(grafana, folder).expect("the dashboards folder is mounted");
    assert!(folder.join("smpp-router.json").is_file());
    let home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        .as_str()
        .unwrap();
    assert!(
        host_path(grafana, home).unwrap().is_file(),
        "home dashboard {home}"
    );
}

// ---------------------------------------------------------------------------------------------
// The dashboard

fn dashboard() -> Value {
    serde_json::from_str(&read("deploy/grafana/dashboards/smpp-router.json")).unwrap()
}

/// Panels that query (rows aside).
fn panels(dash: &Value) -> Vec<&Value> {
    dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
        .collect()
}

/// Every PromQL text of the dashboard with its panel title: targets and template variables.
fn dashboard_queries(dash: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for p in panels(dash) {
        for t in p["targets"].as_array().unwrap() {
            let legend = t["legendFormat"].as_str().unwrap_or("");
            out.push((
                p["title"].as_str().unwrap().to_owned(),
                t["expr"].as_str().unwrap().to_owned(),
                vec![legend.to_owned()],
            ));
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        out.push((
            format!("variable {}", v["name"]),
            v["definition"].as_str().unwrap().to_owned(),
            Vec::new(),
        ));
    }
    out
}

#[test]
fn dashboard_is_well_formed_and_covers_what_ops_watch() {
    let dash = dashboard();
    assert_eq!(dash["uid"], "smpp-router");
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["account", "connector"]);
    let mut ids = BTreeSet::new();
    for p in dash["panels"].as_array().unwrap() {
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "panel id {} twice",
            p["id"]
        );
        let g = &p["gridPos"];
        assert!(
            g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
            "{}",
            p["title"]
        );
    }
    let all: String = dashboard_queries(&dash)
        .iter()
        .map(|(_, q, _)| q.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for p in panels(&dash) {
        assert!(
            !p["targets"].as_array().unwrap().is_empty(),
            "{}",
            p["title"]
        );
    }
    // What the issue asks the dashboard to show.
    for needle in [
        "smpp_submits_total",
        "histogram_quantile(0.5, sum by (account, le) (rate(smpp_submit_latency_seconds_bucket",
        "histogram_quantile(0.99, sum by (account, le) (rate(smpp_submit_latency_seconds_bucket",
        "smpp_in_flight{connector=~\"$connector\"} / smpp_window",
        "smpp_bind_up",
        "smpp_reconnects_total",
        "smpp_throttled_total",
        "smpp_customer_throttled_total",
        "smpp_queue_full_total",
        "status!=\"ESME_ROK\"",
        "sum by (state) (rate(smpp_receipts_total",
        "state=\"DELIVRD\"",
        "smpp_receipt_time_seconds_bucket",
        "smpp_pending",
        "smpp_unknown_receipts_total",
        "sum by (reason) (rate(smpp_mo_total",
        "smpp_failed_binds_total",
        "account=~\"$account\"",
        "connector=~\"$connector\"",
    ] {
        assert!(
            all.contains(needle),
            "the dashboard does not query {needle}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// promtool on the files

#[test]
fn promtool_accepts_the_config_the_rules_and_their_unit_tests() {
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    let dir = root().join("deploy/prometheus");
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "alerts.yml"],
        &["test", "rules", "alerts_test.yml"],
    ] {
        let (ok, out) = run_bounded(
            Command::new(&promtool).args(args).current_dir(&dir),
            b"",
            Duration::from_secs(60),
        );
        assert!(ok, "promtool {args:?}:\n{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// A router with traffic through it

struct Running {
    daemon: Daemon,
    sims: Vec<SimHandle>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn shutdown(self) {
        self.daemon.shutdown().await;
        for s in self.sims {
            s.shutdown().await;
        }
    }
}

/// Two carriers (one sending MO, one refusing some submits), a stray connector on the first
/// carrier's account (it gets receipts for the others' messages: unknown receipts), and traffic:
/// a bench run with receipts, a throttled account, a submit with no route, a wrong password.
async fn router_with_traffic() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let a = sim(SimConfig {
        mo_rate: 20.0,
        ..SimConfig::default()
    })
    .await;
    let b = sim(SimConfig {
        reject_share: 0.1,
        drop_after: Some(40),
        ..SimConfig::default()
    })
    .await;
    let text = format!(
        r#"
[node]
id = 7
data_dir = "{data}"

[smpp]
listen = "127.0.0.1:0"
response_budget = "5s"

[metrics]
listen = "127.0.0.1:0"

[[accounts]]
system_id = "demo"
password_hash = "{DEMO_HASH}"
max_binds = 4
numbers = ["15550100"]

[[accounts]]
system_id = "shop"
password_hash = "{DEMO_HASH}"
tps = 2

[[connectors]]
name = "carrier-a"
hosts = ["{a}"]
system_id = "router"
password = "pw"
binds = 2
reconnect_initial = "50ms"
reconnect_max = "500ms"

[[connectors]]
name = "carrier-b"
hosts = ["{b}"]
system_id = "router"
password = "pw"
bind = "tx+rx"
binds = 2
reconnect_initial = "50ms"
reconnect_max = "500ms"

[[connectors]]
name = "stray"
hosts = ["{a}"]
system_id = "router"
password = "pw"
reconnect_initial = "50ms"
reconnect_max = "500ms"

[[routes]]
name = "default"
prefixes = ["1555"]
split = {{ carrier-a = 1, carrier-b = 1 }}

[mo]
default_account = "demo"
"#,
        data = dir.path().join("data").display(),
        a = a.local_addr(),
        b = b.local_addr(),
    );
    let daemon = daemon(dir.path(), &text).await;

    let mut cfg = BenchConfig::new(&daemon.smpp_addr.to_string(), "demo", "demo");
    cfg.sessions = 2;
    cfg.window = 20;
    cfg.count = Some(300);
    cfg.registered_delivery = true;
    cfg.receipt_wait = Duration::from_secs(2);
    let report = bench::run(cfg).await.unwrap();
    assert!(report.ok > 0, "{report:#?}");

    // An account over its TPS limit, a destination no route takes.
    let submit = |dest: &str| {
        Body::SubmitSm(Box::new(SubmitSm {
            source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"SHOP")),
            dest: Address::new(Ton(1), Npi(1), Bytes::from(dest.to_owned())),
            short_message: Bytes::from_static(b"hello"),
            ..Default::default()
        }))
    };
    let (shop, _) = customer(&daemon, "shop", BindKind::Transmitter);
    shop.wait_bound(Duration::from_secs(5)).await.unwrap();
    for i in 0..8 {
        let _ = shop.send(submit(&format!("155500000{i}"))).await;
    }
    let _ = shop.send(submit("4420000000")).await;
    shop.shutdown().await;
    let wrong = {
        let mut c = EsmeConfig::new(daemon.smpp_addr.to_string(), "demo", "wrong");
        c.backoff.initial = Duration::from_secs(30);
        Esme::start(c, Arc::new(NoObserver)).0
    };
    assert!(wrong.wait_bound(Duration::from_secs(2)).await.is_err());
    wrong.shutdown().await;
    Running {
        daemon,
        sims: vec![a, b],
        _dir: dir,
    }
}

/// GET over HTTP/1.0 (so the answer is never chunked): (status, body).
async fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&out).into_owned())
    };
    let out = tokio::time::timeout(Duration::from_secs(10), io)
        .await
        .map_err(|_| std::io::Error::other(format!("GET {path}: no answer in 10 s")))??;
    let code = out
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {out:.200}")))?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((code, body))
}

// ---------------------------------------------------------------------------------------------
// Names and labels in PromQL, loosely

/// What a Prometheus text exposition holds.
#[derive(Debug, Default)]
struct Exposition {
    /// `# TYPE` family → type.
    types: BTreeMap<String, String>,
    /// Sample name → the label names its samples carry.
    samples: BTreeMap<String, BTreeSet<String>>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let mut e = Exposition::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').unwrap();
                e.types.insert(name.to_owned(), ty.to_owned());
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let labels = e.samples.entry(line[..end].to_owned()).or_default();
            if line[end..].starts_with('{') {
                labels.extend(label_names(&line[end + 1..]));
            }
        }
        e
    }

    /// Whether `name` can be queried: a sample name, a family, or a histogram's series.
    fn has(&self, name: &str) -> bool {
        self.samples.contains_key(name)
            || self.types.contains_key(name)
            || ["_bucket", "_sum", "_count"].iter().any(|s| {
                name.strip_suffix(s)
                    .is_some_and(|f| self.types.get(f).is_some_and(|t| t == "histogram"))
            })
    }
}

/// Label names of `k="v",k2="v2"}` (escapes in values skipped).
fn label_names(s: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let name = name.trim_start_matches([',', ' ']).to_owned();
        if name.is_empty() || name.starts_with('}') {
            break;
        }
        names.push(name);
        if chars.next() != Some('"') {
            break;
        }
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
        if chars.peek() == Some(&'}') {
            break;
        }
    }
    names
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `smpp_…` metric names in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("smpp_") {
        if text[..i].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let name: String = text[i..].chars().take_while(|c| is_ident(*c)).collect();
        out.insert(name);
    }
    out
}

/// Label names `text` uses: matchers (`x="…"`, `x=~`, `x!=`, `x!~`), grouping lists (`by`,
/// `without`, `on`, `ignoring`, `group_left`, `group_right`), the label of
/// `label_values(m, x)`, Grafana legends `{{x}}` and rule templates `$labels.x`.
fn label_uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let word_before = |i: usize| -> String {
        let before: String = text[..i]
            .chars()
            .rev()
            .skip_while(|c| *c == ' ')
            .take_while(|c| is_ident(*c))
            .collect();
        before.chars().rev().collect()
    };
    for op in ["=~\"", "!~\"", "!=\"", "=\""] {
        for (i, _) in text.match_indices(op) {
            if op == "=\"" && text[..i].ends_with(['!', '=', '~']) {
                continue;
            }
            let w = word_before(i);
            if !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(w);
            }
        }
    }
    for kw in [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ] {
        for (i, _) in text.match_indices(kw) {
            if text[..i].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let rest = text[i + kw.len()..].trim_start();
            if let Some(list) = rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
                out.extend(
                    list.0
                        .split(',')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                );
            }
        }
    }
    for (i, _) in text.match_indices("label_values(") {
        if let Some((args, _)) = text[i + 13..].split_once(')') {
            if let Some((_, label)) = args.rsplit_once(',') {
                out.insert(label.trim().to_owned());
            }
        }
    }
    for (i, _) in text.match_indices("{{") {
        let rest = text[i + 2..].trim_start();
        let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if !name.is_empty() && rest[name.len()..].trim_start().starts_with("}}") {
            out.insert(name);
        }
    }
    for (i, _) in text.match_indices("$labels.") {
        out.insert(text[i + 8..].chars().take_while(|c| is_ident(*c)).collect());
    }
    out
}

/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// The alert rules, one text per rule (loose: split at `- alert:`).
fn rule_texts() -> Vec<(String, String)> {
    read("deploy/prometheus/alerts.yml")
        .split("- alert:")
        .skip(1)
        .map(|r| (r.lines().next().unwrap().trim().to_owned(), r.to_owned()))
        .collect()
}

/// Checks that every name and label of each query is exported; returns the notes.
/// Names and labels missing from `live` are looked up in `full` (every family filled), with a
/// note.
fn check_names_and_labels(
    live: &Exposition,
    full: &Exposition,
    queries: &[(String, String)],
) -> Result<Vec<String>, Vec<String>> {
    let (mut errors, mut notes) = (Vec::new(), Vec::new());
    for (what, q) in queries {
        let names = metric_names(q);
        let mut labels: BTreeSet<&String> = BTreeSet::new();
        for n in &names {
            let exposition = if live.has(n) {
                live
            } else if full.has(n) {
                notes.push(format!(
                    "{what}: {n} has no samples in this run; checked against every family filled"
                ));
                full
            } else {
                errors.push(format!("{what}: metric {n} is not exported"));
                continue;
            };
            labels.extend(exposition.samples.get(n).into_iter().flatten());
        }
        for l in label_uses(q) {
            let known = labels.contains(&l)
                || TARGET_LABELS.contains(&l.as_str())
                || (names.is_empty() && l == "__name__");
            if !known {
                errors.push(format!("{what}: label {l} is not on {names:?}"));
            }
        }
    }
    if errors.is_empty() {
        Ok(notes)
    } else {
        Err(errors)
    }
}

/// The router's metrics with one observation in every family, through its own `Metrics` type:
/// for the families a bounded test cannot make the running router fill (an unknown receipt is
/// counted only after a 10-minute grace; a full queue needs a stalled carrier).
fn every_family() -> String {
    use smpp_pdu::{CommandId, CommandStatus, MessageState};
    use smpp_router::metrics::{Direction, Metrics};
    use smpp_router::mo::Reason;
    let m = Arc::new(Metrics::new());
    let d = Duration::from_millis(5);
    m.pdu(Direction::In, CommandId::SUBMIT_SM, CommandStatus::OK);
    m.submit("a", "c", CommandStatus::OK);
    m.submit_latency("a", d);
    m.carrier_latency("c", d);
    m.set_window("c", 0, 10);
    m.set_bind_up("c", 0, true);
    m.reconnect("c");
    m.throttled("c");
    m.customer_throttled("a");
    m.queue_full("c");
    m.receipt("c", Some(MessageState::DELIVERED));
    m.receipt_time("c", d);
    m.unknown_receipt("c");
    m.set_pending("a", 1);
    m.store_commit(d);
    m.mo(Reason::Default);
    m.failed_bind("bad_password");
    m.no_route("a");
    m.set_customer_binds("a", 1);
    m.consent("a", "opt_out");
    m.refused("a", "opted_out");
    m.held("a");
    m.released("a", "sent");
    let o = m.observer("c", 0);
    o.request_sent(CommandId::SUBMIT_SM, 1);
    o.request_failed(CommandId::SUBMIT_SM);
    o.closed(smpp_session::CloseReason::ConnectionLost);
    m.encode()
}

/// Every query of the dashboard (with its legend) and of the rules.
fn all_queries() -> Vec<(String, String)> {
    let mut queries: Vec<(String, String)> = dashboard_queries(&dashboard())
        .into_iter()
        .map(|(title, q, legends)| {
            (
                format!("dashboard {title}"),
                format!("{q}\n{}", legends.join("\n")),
            )
        })
        .collect();
    queries.extend(
        rule_texts()
            .into_iter()
            .map(|(n, t)| (format!("rule {n}"), t)),
    );
    queries
}

#[test]
fn loose_promql_reading_finds_names_and_labels() {
    let q = "sum by (connector, le) (rate(smpp_x_bucket{account=~\"$account\",state!=\"A\"}[5m])) \
             / on(bind) smpp_y{status=\"ESME_ROK\"}\n{{connector}} {{ $labels.reason }}";
    assert_eq!(
        metric_names(q),
        BTreeSet::from(["smpp_x_bucket".to_owned(), "smpp_y".to_owned()])
    );
    let labels: Vec<String> = label_uses(q).into_iter().collect();
    assert_eq!(
        labels,
        [
            "account",
            "bind",
            "connector",
            "le",
            "reason",
            "state",
            "status"
        ]
    );
    assert_eq!(
        label_names("a=\"x\\\"y\",b=\"1\"} 3"),
        ["a".to_owned(), "b".to_owned()]
    );
    let e = Exposition::parse(
        "# TYPE smpp_h_seconds histogram\nsmpp_h_seconds_bucket{le=\"1\",c=\"a\"} 1\n\
         # TYPE smpp_e_total counter\n",
    );
    assert!(e.has("smpp_h_seconds_count") && e.has("smpp_e_total") && !e.has("smpp_nope"));
    assert!(glob("**/target", "crates/x/target") && glob("*", "Cargo.toml"));
    assert!(!glob("crates", "crates2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_router_exports_every_metric_and_label_the_dashboard_and_rules_use() {
    let running = router_with_traffic().await;
    let (code, text) = http_get(running.daemon.admin_addr, "/metrics")
        .await
        .unwrap();
    assert_eq!(code, 200);
    let exposition = Exposition::parse(&text);
    let full_text = every_family();
    let full = Exposition::parse(&full_text);
    assert!(full.samples.len() >= 20, "{:?}", full.samples.keys());
    let outcome = check_names_and_labels(&exposition, &full, &all_queries());
    if let Some(promtool) = tool("promtool", "prometheus") {
        // What the running router serves, and every family filled.
        for t in [&text, &full_text] {
            let (ok, out) = run_bounded(
                Command::new(&promtool).args(["check", "metrics"]),
                t.as_bytes(),
                Duration::from_secs(60),
            );
            assert!(ok, "promtool check metrics:\n{out}\n--- metrics:\n{t}");
        }
    }
    running.shutdown().await;
    match outcome {
        Ok(notes) => notes.iter().for_each(|n| println!("note: {n}")),
        Err(errors) => panic!("{}\n--- metrics:\n{text}", errors.join("\n")),
    }
}

// ---------------------------------------------------------------------------------------------
// A real Prometheus

/// A Prometheus server, killed when dropped.
struct Prometheus {
    child: Child,
    addr: std::net::SocketAddr,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `/api/v1/<path>`'s `data`, or why not.
    async fn api(&self, path: &str) -> Result<Value, String> {
        let (code, body) = http_get(self.addr, &format!("/api/v1/{path}"))
            .await
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body:.300}"))?;
        if code != 200 || v["status"] != "success" {
            return Err(format!("{code} {body:.500}"));
        }
        Ok(v["data"].clone())
    }

    async fn query(&self, q: &str) -> Result<Value, String> {
        self.api(&format!("query?query={}", url_encode(q))).await
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `limit`.
async fn within<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_the_router_evaluates_the_rules_and_answers_the_dashboard() {
    let Some(binary) = tool("prometheus", "prometheus") else {
        return;
    };
    let running = router_with_traffic().await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}\n\
             scrape_configs:\n  - job_name: smpp-router\n    static_configs:\n      \
             - targets: [\"{target}\"]\n",
            rules = root().join("deploy/prometheus/alerts.yml").display(),
            target = running.daemon.admin_addr,
        ),
    )
    .unwrap();
    let log = dir.path().join("prometheus.log");
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=1h")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let prom = Prometheus {
        child,
        addr: ([127, 0, 0, 1], port).into(),
        log,
    };

    // Scraped: the router's submits are in Prometheus.
    let submits = within(Duration::from_secs(30), || async {
        let data = prom
            .query("sum(smpp_submits_total{account=\"demo\",status=\"ESME_ROK\"})")
            .await
            .ok()?;
        let v: f64 = data["result"][0]["value"][1].as_str()?.parse().ok()?;
        (v > 0.0).then_some(v)
    })
    .await;
    assert!(
        submits.is_some(),
        "no submits in Prometheus\n{}",
        prom.log()
    );
    // Three scrapes at least, so that rates over them have points.
    let scrapes = within(Duration::from_secs(20), || async {
        let data = prom
            .query("count_over_time(smpp_build_info[1m])")
            .await
            .ok()?;
        let n: f64 = data["result"][0]["value"][1].as_str()?.parse().ok()?;
        (n >= 3.0).then_some(n)
    })
    .await;
    assert!(
        scrapes.is_some(),
        "Prometheus scrapes too rarely\n{}",
        prom.log()
    );
    let targets = prom.api("targets").await.unwrap();
    assert_eq!(targets["activeTargets"][0]["health"], "up", "{targets}");

    // Every rule evaluates without error (some of them twice, so rates have two points).
    let rules = within(Duration::from_secs(20), || async {
        let data = prom.api("rules").await.ok()?;
        let rules: Vec<Value> = data["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let evaluated = rules.iter().all(|r| {
            r["lastEvaluation"]
                .as_str()
                .is_some_and(|t| !t.starts_with("0001"))
        });
        (evaluated && !rules.is_empty()).then_some(rules)
    })
    .await
    .unwrap_or_else(|| panic!("rules not evaluated\n{}", prom.log()));
    assert_eq!(rules.len(), rule_texts().len());
    for r in &rules {
        assert_eq!(r["health"], "ok", "rule {}: {}", r["name"], r["lastError"]);
    }
    // A connector has its binds up, so that alert is not firing.
    let alerts = prom.api("alerts").await.unwrap();
    let firing: Vec<&Value> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["alertname"] == "SmppConnectorNoBindUp")
        .collect();
    assert!(firing.is_empty(), "{firing:?}");

    // Every dashboard query runs, with the variables as "All"; those over traffic we made
    // return series.
    let dash = dashboard();
    for (title, q, _) in dashboard_queries(&dash) {
        if q.starts_with("label_values(") {
            let (metric, label) = q[13..q.len() - 1].split_once(',').unwrap();
            let path = format!(
                "label/{}/values?match[]={}",
                label.trim(),
                url_encode(metric.trim())
            );
            let values = prom.api(&path).await.unwrap();
            assert!(!values.as_array().unwrap().is_empty(), "{title}: {q}");
            continue;
        }
        let expr = q
            .replace("$account", ".*")
            .replace("$connector", ".*")
            .replace("$__rate_interval", "1m");
        let data = prom
            .query(&expr)
            .await
            .unwrap_or_else(|e| panic!("{title}: {expr}: {e}"));
        let must_have_data = [
            "Submits in by account",
            "Receipts by state",
            "Window use per bind",
        ];
        if must_have_data.contains(&title.as_str()) {
            assert!(
                !data["result"].as_array().unwrap().is_empty(),
                "{title}: {expr} returned nothing"
            );
        }
    }
    drop(prom);
    running.shutdown().await;
}
