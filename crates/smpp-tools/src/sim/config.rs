//! What the simulator is told to do: accounts, message id format, receipt timing and outcome
//! mix, fault modes and MO traffic. The small value types here parse the command-line forms
//! (`10-500`, `DELIVRD=95,UNDELIV=5`, `0x45`) so the binary's `main` stays a thin clap shell and
//! tests build the same values directly.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use smpp_pdu::{CommandStatus, MessageState};

/// How the simulator writes its message ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdFormat {
    /// Upper-case hexadecimal, 16 digits (many carriers).
    #[default]
    Hex,
    /// Decimal digits, 20 wide with leading zeros kept (others).
    Decimal,
}

impl FromStr for IdFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "hex" => Ok(IdFormat::Hex),
            "decimal" | "dec" => Ok(IdFormat::Decimal),
            other => Err(format!("unknown id format {other:?} (hex or decimal)")),
        }
    }
}

/// A uniform range of milliseconds, written `MIN-MAX` (or one number for a fixed value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsRange {
    /// Shortest.
    pub min: u64,
    /// Longest (inclusive).
    pub max: u64,
}

impl MsRange {
    /// A fixed value.
    pub const fn fixed(ms: u64) -> Self {
        MsRange { min: ms, max: ms }
    }

    /// A uniformly drawn duration in the range.
    pub fn draw(&self) -> Duration {
        Duration::from_millis(fastrand::u64(self.min..=self.max.max(self.min)))
    }
}

impl FromStr for MsRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("{t:?} is not a number of milliseconds"))
        };
        match s.split_once('-') {
            Some((a, b)) => {
                let (min, max) = (num(a)?, num(b)?);
                if min > max {
                    return Err(format!("range {s:?}: MIN is larger than MAX"));
                }
                Ok(MsRange { min, max })
            }
            None => Ok(MsRange::fixed(num(s)?)),
        }
    }
}

/// Receipt outcomes and their weights, written `DELIVRD=95,UNDELIV=3,EXPIRED=1,REJECTD=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlrMix(pub Vec<(MessageState, u32)>);

impl Default for DlrMix {
    fn default() -> Self {
        DlrMix(vec![(MessageState::DELIVERED, 1)])
    }
}

impl DlrMix {
    /// A weighted draw (DELIVRD when every weight is zero).
    pub fn draw(&self) -> MessageState {
        let total: u64 = self.0.iter().map(|&(_, w)| u64::from(w)).sum();
        if total == 0 {
            return MessageState::DELIVERED;
        }
        let mut pick = fastrand::u64(0..total);
        for &(state, w) in &self.0 {
            if pick < u64::from(w) {
                return state;
            }
            pick -= u64::from(w);
        }
        MessageState::DELIVERED
    }
}

impl FromStr for DlrMix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, weight) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?}: expected STATE=WEIGHT"))?;
            let state = MessageState::from_stat(name.trim().as_bytes())
                .ok_or_else(|| format!("{name:?} is not a receipt state (DELIVRD, UNDELIV, …)"))?;
            let weight = weight
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("{item:?}: the weight is not a whole number"))?;
            out.push((state, weight));
        }
        if out.is_empty() {
            return Err("the mix names no state".into());
        }
        Ok(DlrMix(out))
    }
}

/// A command_status written in hex (`0x45`) or decimal (`69`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub CommandStatus);

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => t.parse::<u32>(),
        }
        .map_err(|_| format!("{s:?} is not a command_status (0x45 or 69)"))?;
        Ok(Status(CommandStatus(v)))
    }
}

/// An account, written `system_id:password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The system_id.
    pub system_id: String,
    /// The password.
    pub password: String,
}

impl FromStr for Account {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (id, pw) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected system_id:password"))?;
        Ok(Account {
            system_id: id.to_owned(),
            password: pw.to_owned(),
        })
    }
}

/// Everything the simulator does.
#[derive(Clone)]
pub struct SimConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port; see `SimHandle::local_addr`).
    pub listen: SocketAddr,
    /// Accounts allowed to bind; empty accepts any credentials.
    pub accounts: Vec<Account>,
    /// The form of message ids.
    pub id_format: IdFormat,
    /// Send receipts when registered_delivery asks for them.
    pub receipts: bool,
    /// Delay between the submit and its receipt.
    pub dlr_delay: MsRange,
    /// Receipt outcomes.
    pub dlr_mix: DlrMix,
    /// Share of submits refused with `reject_status` (0.0–1.0).
    pub reject_share: f64,
    /// The status refusals carry.
    pub reject_status: CommandStatus,
    /// Submits per second accepted over the whole simulator; above it, ESME_RTHROTTLED.
    pub throttle_tps: Option<u32>,
    /// Share of receipts delivered before the submit_sm_resp (0.0–1.0).
    pub early_dlr_share: f64,
    /// Share of receipts followed by a stray: a receipt, with the same delay, for a message id
    /// the simulator never gave out (carriers send such; the ESME cannot match them) (0.0–1.0).
    pub stray_dlr_share: f64,
    /// Close a connection (unbind) after this many submits on it.
    pub drop_after: Option<u64>,
    /// Never answer submits.
    pub silent: bool,
    /// Wait this long before answering each submit.
    pub resp_delay: Duration,
    /// Mobile-originated messages per second (0: none), each a reply in a conversation an ESME
    /// started; every distinct conversation is as likely as any other.
    pub mo_rate: f64,
    /// Texts MO messages carry.
    pub mo_texts: Vec<String>,
    /// Receipts and MO held per system_id while it has no receiver bound; beyond it the oldest
    /// is dropped and counted.
    pub outbox_limit: usize,
    /// Receipts waiting for their delay, over the whole simulator; beyond it new ones are
    /// dropped and counted.
    pub scheduled_limit: usize,
    /// Window for what the simulator sends (deliver_sm) on each connection.
    pub window: usize,
    /// Response timeout for deliver_sm.
    pub response_timeout: Duration,
    /// Serve TLS on every connection when set.
    pub tls: Option<smpp_tokio::tokio_rustls::TlsAcceptor>,
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("accounts", &self.accounts.len())
            .field("id_format", &self.id_format)
            .field("receipts", &self.receipts)
            .field("dlr_delay", &self.dlr_delay)
            .field("dlr_mix", &self.dlr_mix)
            .field("reject_share", &self.reject_share)
            .field("throttle_tps", &self.throttle_tps)
            .field("early_dlr_share", &self.early_dlr_share)
            .field("stray_dlr_share", &self.stray_dlr_share)
            .field("drop_after", &self.drop_after)
            .field("silent", &self.silent)
            .field("resp_delay", &self.resp_delay)
            .field("mo_rate", &self.mo_rate)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 2776)),
            accounts: Vec::new(),
            id_format: IdFormat::Hex,
            receipts: true,
            dlr_delay: MsRange { min: 10, max: 100 },
            dlr_mix: DlrMix::default(),
            reject_share: 0.0,
            reject_status: CommandStatus::SUBMITFAIL,
            throttle_tps: None,
            early_dlr_share: 0.0,
            stray_dlr_share: 0.0,
            drop_after: None,
            silent: false,
            resp_delay: Duration::ZERO,
            mo_rate: 0.0,
            mo_texts: vec!["STOP".into(), "HELP".into(), "hello".into()],
            outbox_limit: 100_000,
            scheduled_limit: 1_000_000,
            window: 100,
            response_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

/// A TLS acceptor from PEM files: the certificate chain and its private key.
///
/// # Errors
/// A message naming the file when it cannot be read or used.
pub fn tls_acceptor(
    cert_file: &std::path::Path,
    key_file: &std::path::Path,
) -> Result<smpp_tokio::tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use smpp_tokio::tokio_rustls::rustls;

    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("{}: {e}", key_file.display()))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", cert_file.display()))?;
    Ok(smpp_tokio::tokio_rustls::TlsAcceptor::from(
        std::sync::Arc::new(config),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_command_line_forms() {
        assert_eq!(
            "10-500".parse::<MsRange>().unwrap(),
            MsRange { min: 10, max: 500 }
        );
        assert_eq!("7".parse::<MsRange>().unwrap(), MsRange::fixed(7));
        assert!("9-1".parse::<MsRange>().is_err());
        let mix: DlrMix = "DELIVRD=95,UNDELIV=3,EXPIRED=1,REJECTD=1".parse().unwrap();
        assert_eq!(mix.0.len(), 4);
        assert_eq!(mix.0[1], (MessageState::UNDELIVERABLE, 3));
        assert!("NOPE=1".parse::<DlrMix>().is_err());
        assert_eq!(
            "0x45".parse::<Status>().unwrap().0,
            CommandStatus::SUBMITFAIL
        );
        assert_eq!("88".parse::<Status>().unwrap().0, CommandStatus::THROTTLED);
        let a: Account = "acme:pw:x".parse().unwrap();
        assert_eq!(
            (a.system_id.as_str(), a.password.as_str()),
            ("acme", "pw:x")
        );
    }

    #[test]
    fn a_mix_draws_only_its_states() {
        let mix: DlrMix = "UNDELIV=1,EXPIRED=1".parse().unwrap();
        for _ in 0..100 {
            let s = mix.draw();
            assert!(s == MessageState::UNDELIVERABLE || s == MessageState::EXPIRED);
        }
    }
}
