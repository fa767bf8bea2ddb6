//! The result of a bench run: counts by outcome, latency percentiles from HDR histograms, and
//! receipt matching — printed as a table, or serialised as one JSON object for scripts that
//! compare runs.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// From a histogram of microseconds.
    pub(crate) fn from_micros(h: &Histogram<u64>) -> Self {
        let ms = |v: u64| v as f64 / 1000.0;
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// Receipt matching, when receipts were asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReceiptReport {
    /// Acked messages (ESME_ROK) whose receipt was awaited.
    pub expected: u64,
    /// Receipts matched to an acked message id.
    pub matched: u64,
    /// Of those, receipts that arrived before their submit_sm_resp.
    pub early: u64,
    /// Receipts whose id no ack gave.
    pub unmatched: u64,
    /// Second receipts for an already matched id.
    pub duplicate: u64,
    /// Receipts with no id in the TLV or the text.
    pub unparsable: u64,
    /// Acked messages still without a receipt at the end.
    pub missing: u64,
    /// Acked messages not tracked because the tracking table was full.
    pub untracked: u64,
    /// Matched receipts by final state (`DELIVRD`, `UNDELIV`, …).
    pub by_state: BTreeMap<String, u64>,
    /// From the submit to its receipt.
    pub latency_ms: Percentiles,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Sessions (transceiver binds).
    pub sessions: usize,
    /// Window per session.
    pub window: usize,
    /// Messages generated (a long message counts once).
    pub messages: u64,
    /// submit_sm PDUs handed to the sessions (each part of a long message counts).
    pub sent: u64,
    /// Responses by command_status name (`ESME_ROK`, `ESME_RSUBMITFAIL`, …); a request still
    /// throttled after every retry counts as `ESME_RTHROTTLED`.
    pub acked: BTreeMap<String, u64>,
    /// Responses with ESME_ROK.
    pub ok: u64,
    /// Requests with no response within the response timeout.
    pub timeouts: u64,
    /// Requests whose connection went away before the response.
    pub connection_lost: u64,
    /// Requests that failed otherwise.
    pub errors: u64,
    /// Those failures by what went wrong.
    pub error_kinds: BTreeMap<String, u64>,
    /// Messages never sent because no session was bound.
    pub not_sent: u64,
    /// ESME_RTHROTTLED answers that were retried after a pause.
    pub throttled_retries: u64,
    /// Reconnects after a session was lost.
    pub reconnects: u64,
    /// Seconds from the first submit to the last response.
    pub elapsed_secs: f64,
    /// Responses per second over `elapsed_secs`.
    pub throughput: f64,
    /// Submit to submit_sm_resp.
    pub submit_latency_ms: Percentiles,
    /// Receipt matching (`null` unless `--registered-delivery`).
    pub receipts: Option<ReceiptReport>,
    /// Mobile-originated messages (deliver_sm that are not receipts) received.
    pub mo_received: u64,
    /// CPU time this process used up to the report, in seconds (`null` where unknown).
    pub cpu_secs: Option<f64>,
}

impl Report {
    /// True when every sent request ended in exactly one outcome.
    pub fn is_consistent(&self) -> bool {
        let acked: u64 = self.acked.values().sum();
        self.sent == acked + self.timeouts + self.connection_lost + self.errors
    }
}

fn pct_row(f: &mut fmt::Formatter<'_>, name: &str, p: &Percentiles) -> fmt::Result {
    writeln!(
        f,
        "{name:<24}p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms  (n={})",
        p.p50, p.p90, p.p99, p.p999, p.max, p.count
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, name: &str, v: &dyn fmt::Display| {
            writeln!(f, "{name:<24}{v}")
        };
        row(
            f,
            "sessions × window",
            &format!("{} × {}", self.sessions, self.window),
        )?;
        row(f, "messages", &self.messages)?;
        row(f, "submit_sm sent", &self.sent)?;
        for (status, n) in &self.acked {
            row(f, &format!("  {status}"), n)?;
        }
        row(f, "  timeouts", &self.timeouts)?;
        row(f, "  connection lost", &self.connection_lost)?;
        row(f, "  other errors", &self.errors)?;
        for (kind, n) in &self.error_kinds {
            row(f, &format!("    {kind}"), n)?;
        }
        row(f, "not sent (unbound)", &self.not_sent)?;
        row(f, "throttled, retried", &self.throttled_retries)?;
        row(f, "reconnects", &self.reconnects)?;
        row(f, "elapsed", &format!("{:.3} s", self.elapsed_secs))?;
        row(f, "throughput", &format!("{:.1} msg/s", self.throughput))?;
        pct_row(f, "submit latency", &self.submit_latency_ms)?;
        if let Some(r) = &self.receipts {
            row(f, "receipts expected", &r.expected)?;
            row(f, "  matched", &r.matched)?;
            row(f, "    before the ack", &r.early)?;
            for (state, n) in &r.by_state {
                row(f, &format!("    {state}"), n)?;
            }
            row(f, "  unmatched", &r.unmatched)?;
            row(f, "  duplicate", &r.duplicate)?;
            row(f, "  unparsable", &r.unparsable)?;
            row(f, "  missing", &r.missing)?;
            if r.untracked > 0 {
                row(f, "  untracked", &r.untracked)?;
            }
            pct_row(f, "submit → receipt", &r.latency_ms)?;
        }
        row(f, "MO received", &self.mo_received)?;
        match self.cpu_secs {
            Some(cpu) => row(f, "CPU time", &format!("{cpu:.2} s")),
            None => Ok(()),
        }
    }
}
