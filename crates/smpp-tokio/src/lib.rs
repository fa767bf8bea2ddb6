//! tokio drivers for SMPP: an ESME client that keeps its bind up, and an SMSC server. Each
//! connection is one task around a sans-IO [`smpp_session::Session`]; this crate only moves
//! bytes, time and the application's requests in and out.
//!
//! ```no_run
//! # async fn demo() -> Result<(), smpp_tokio::Error> {
//! use std::sync::Arc;
//! use smpp_tokio::{Esme, EsmeConfig, NoObserver};
//!
//! let (esme, _deliveries) = Esme::start(
//!     EsmeConfig::new("127.0.0.1:2775", "system_id", "password"),
//!     Arc::new(NoObserver),
//! );
//! esme.wait_bound(std::time::Duration::from_secs(5)).await?;
//! let resp = esme.send(smpp_pdu::Body::SubmitSm(Default::default())).await?;
//! println!("{:?}", resp.command_status);
//! # Ok(()) }
//! ```

mod call;
mod conn;
mod error;
mod esme;
mod link;
mod observer;
mod smsc;
mod throttle;

pub use conn::{Authenticate, BindRequest, BoundInfo, DriverOptions};
pub use error::Error;
pub use esme::{Backoff, Esme, EsmeConfig};
pub use link::{Incoming, Link, Responder};
pub use observer::{NoObserver, Observer};
pub use smsc::{serve, Connection, SmscConfig};
pub use throttle::Throttle;
pub use tokio_rustls;
