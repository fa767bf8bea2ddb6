//! The connection task: one loop per socket that reads, hands bytes to the session, moves the
//! application's commands in, writes everything pending in one go, and sleeps until the
//! session's next deadline (quinn's `ConnectionDriver`, for SMPP).
//!
//! A bind is checked on tokio's blocking pool while the loop goes on (the session refuses a
//! second bind meanwhile), so a deliberately slow password hash stalls no other connection.
//!
//! Backpressure: reading stops while the write backlog is over its high-water mark or the
//! application is not taking inbound requests, so a peer that reads nothing cannot grow our
//! memory; a write that makes no progress for `write_timeout` closes the connection.
//!
//! Answers never wait behind requests. A request that cannot go yet (a TPS limit, a pause after
//! ESME_RTHROTTLED) holds back the requests behind it, but the loop goes on taking commands:
//! an answer to the peer (a deliver_sm_resp for a receipt) goes out at once. Before, the loop
//! stopped taking commands while a request waited, and under a bind TPS limit an answer waited
//! for every request queued before it, window ÷ TPS seconds at worst, long enough for the
//! peer to time its deliver_sm out. The queue of waiting requests is bounded by the window:
//! each holds a window permit.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use smpp_pdu::{Bind, CommandStatus};
use smpp_session::{BindKind, CloseReason, Event, FailReason, Rejected, Session, State};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use crate::link::{Command, Incoming, Pending, Responder};
use crate::throttle::Throttle;
use crate::{Error, Observer};

/// Stop reading while this much is waiting to be written.
const HIGH_WATER: usize = 256 * 1024;
/// Read at least this much per syscall.
const READ_CHUNK: usize = 64 * 1024;
/// Below this many bytes waiting, a write just after taking an application command waits one
/// scheduler turn for more (see the loop).
const COALESCE_BELOW: usize = 16 * 1024;

/// How the driver treats traffic, beyond the session's own rules.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// Requests per second on this connection (`None`: unlimited).
    pub tps: Option<u32>,
    /// After ESME_RTHROTTLED, pause sending this long, then resend in the original order.
    pub throttle_pause: Duration,
    /// Resend a throttled request at most this many times, then report [`Error::Throttled`].
    pub max_throttle_retries: u32,
    /// Close the connection when a write makes no progress for this long.
    pub write_timeout: Duration,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            tps: None,
            throttle_pause: Duration::from_secs(1),
            max_throttle_retries: 5,
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// What an SMSC asks of the application when a peer binds.
#[derive(Debug, Clone)]
pub struct BindRequest {
    /// The direction asked for.
    pub kind: BindKind,
    /// Credentials and address range, as sent.
    pub bind: Bind,
    /// The peer's address.
    pub peer: std::net::SocketAddr,
}

/// Who a connection is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundInfo {
    /// The bind's direction.
    pub kind: BindKind,
    /// The other side's system_id: the SMSC's for an ESME, the ESME's for an SMSC.
    pub system_id: bytes::Bytes,
    /// SMSC side: the peer's address.
    pub peer: Option<std::net::SocketAddr>,
}

/// Decides on a bind: `Ok(system_id to answer with)` or the refusal status. It runs on tokio's
/// blocking pool, not on the connection's task: a password hash made to be slow (Argon2: tens
/// of milliseconds) would otherwise stall every connection that shares the thread.
pub type Authenticate = dyn Fn(&BindRequest) -> Result<Vec<u8>, CommandStatus> + Send + Sync;

/// How a server's connections check binds: the check, and the permits that bound how many run
/// at once. A memory-hard hash (Argon2 as configured here: 19 MiB a check) times a burst of
/// simultaneous binds would otherwise be unbounded memory; past the permits, a check waits.
#[derive(Clone)]
pub(crate) struct BindChecks {
    pub(crate) authenticate: Arc<Authenticate>,
    pub(crate) permits: Arc<tokio::sync::Semaphore>,
}

/// Everything the loop needs besides the socket and the session.
pub(crate) struct Ctx<'a> {
    pub(crate) commands: &'a mut mpsc::UnboundedReceiver<Command>,
    pub(crate) commands_tx: mpsc::UnboundedSender<Command>,
    pub(crate) incoming: mpsc::Sender<Incoming>,
    pub(crate) options: &'a DriverOptions,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) authenticate: Option<(BindChecks, std::net::SocketAddr)>,
    pub(crate) bound: &'a watch::Sender<Option<BoundInfo>>,
}

/// Runs a connection until its session closes; returns why, and whether it ever bound.
pub(crate) async fn run<S>(
    stream: S,
    mut session: Session<Pending>,
    ctx: Ctx<'_>,
) -> (CloseReason, bool)
where
    S: AsyncRead + AsyncWrite + Send,
{
    let (rd, wr) = tokio::io::split(stream);
    let mut rd = std::pin::pin!(rd);
    let mut wr = std::pin::pin!(wr);
    let mut loop_state = Loop {
        rbuf: BytesMut::with_capacity(READ_CHUNK),
        retry: VecDeque::new(),
        sent: 0,
        waiting: VecDeque::new(),
        paused_until: None,
        tps: ctx.options.tps.map(|r| Throttle::new(r, 1)),
        tps_wake: None,
        overflow: VecDeque::new(),
        stalled_since: None,
        reason: CloseReason::Local,
        bound_once: false,
        just_took_command: false,
        checking: None,
        connection: NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        ctx,
    };
    let s = &mut loop_state;
    // One timer for the connection's life, moved rather than made anew each turn: a new timer
    // takes the runtime's timer lock and, when it is the earliest, wakes the thread parked on
    // the driver — once per loop turn, i.e. per PDU at window 1. It is armed no later than the
    // next deadline; firing early is harmless (the deadlines are checked again), so a later
    // deadline leaves it as it is and only an earlier one moves it.
    let mut timer = std::pin::pin!(sleep_until(Instant::now()));
    let mut alarm = Alarm::default();
    // The clock is read once after each wait and used for the whole turn (clock reads were
    // ~12 % of user time at window 1, counting tokio's and the caller's).
    let mut now = Instant::now();
    loop {
        s.pump_commands(&mut session, now);
        s.handle_events(&mut session, now);
        if session.state() == State::Closed {
            break;
        }
        let pending = !session.pending_transmit().is_empty();
        // Answers and requests from the application arrive one command at a time, often from
        // many tasks at once. After taking one, when more are on their way (inbound requests
        // still unanswered, or other requests of ours in flight), let those tasks run before
        // writing, so one write carries all that are ready instead of one write per PDU. A lone
        // request-and-answer (window 1) is written at once.
        let more_coming = session.inbound_open() > 0 || session.in_flight() > 1;
        if pending
            && std::mem::take(&mut s.just_took_command)
            && more_coming
            && session.pending_transmit().len() < COALESCE_BELOW
        {
            tokio::task::yield_now().await;
            now = Instant::now();
            continue;
        }
        if pending && s.stalled_since.is_none() {
            s.stalled_since = Some(now);
        }
        let can_read = session.pending_transmit().len() < HIGH_WATER && s.overflow.is_empty();
        // Commands are taken even while requests wait (for TPS room, a pause, the window):
        // answers do not wait behind them (module docs).
        let can_take = matches!(session.state(), State::Bound(_) | State::Unbinding);
        // A TPS or pause time that has passed gates nothing any more (the pump at the top of
        // this turn went past it, or stopped at the other gate, whose time is still to come):
        // waiting for it would wake the loop at once, every turn, until something is sent.
        let wake = [
            session.poll_timeout().map(Instant::from_std),
            s.tps_wake.filter(|&t| t > now),
            s.paused_until.filter(|&t| t > now),
            s.stalled_since.map(|t| t + s.ctx.options.write_timeout),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(at) = alarm.arm(wake) {
            timer.as_mut().reset(at);
        }
        if s.rbuf.capacity() - s.rbuf.len() < READ_CHUNK / 4 {
            s.rbuf.reserve(READ_CHUNK);
        }
        // select! evaluates every branch's expression, enabled or not: the one that clones a
        // sender is left to an async block, which does nothing until it is polled.
        let incoming = &s.ctx.incoming;
        let is_checking = s.checking.is_some();
        let checking = s.checking.as_mut().map(|(_, check)| check);
        let step = tokio::select! {
            biased;
            r = rd.read_buf(&mut s.rbuf), if can_read => Step::Read(r),
            r = wr.write(session.pending_transmit()), if pending => Step::Wrote(r),
            c = s.ctx.commands.recv(), if can_take => Step::Command(c),
            permit = async { incoming.clone().reserve_owned().await }, if !s.overflow.is_empty() => Step::Deliver(permit.ok()),
            () = timer.as_mut(), if alarm.is_armed() => Step::Timer,
            checked = async { match checking { Some(check) => check.await, None => std::future::pending().await } }, if is_checking => Step::Checked(checked.ok().flatten()),
        };
        now = Instant::now();
        match step {
            Step::Read(Ok(0) | Err(_)) | Step::Wrote(Ok(0) | Err(_)) => {
                session.handle_connection_lost();
            }
            Step::Read(Ok(_)) => session.handle_input(now.into_std(), &mut s.rbuf),
            Step::Wrote(Ok(n)) => {
                session.advance_transmit(n);
                s.stalled_since = None;
                if session.pending_transmit().is_empty() {
                    // A plain socket flushes at once; TLS may have to wait, and then the
                    // turn's clock reading is stale.
                    let limit = now + s.ctx.options.write_timeout;
                    let mut flush = std::pin::pin!(timeout_at(limit, wr.flush()));
                    let first = std::future::poll_fn(|cx| Poll::Ready(flush.as_mut().poll(cx)));
                    if first.await.is_pending() {
                        let _ = flush.await;
                        now = Instant::now();
                    }
                }
            }
            Step::Command(Some(c)) => {
                s.take(&mut session, c, now);
                s.just_took_command = true;
            }
            Step::Command(None) => session.unbind(now.into_std()),
            Step::Deliver(permit) => match (permit, s.overflow.pop_front()) {
                (Some(p), Some(i)) => {
                    p.send(i);
                }
                // The application dropped its receiver: each Responder's drop answers with a
                // temporary error.
                _ => s.overflow.clear(),
            },
            Step::Checked(outcome) => {
                if let Some((sequence, _)) = s.checking.take() {
                    s.bind_checked(&mut session, sequence, outcome);
                }
            }
            Step::Timer => {
                alarm.fired();
                if s.stalled_since
                    .is_some_and(|t| now >= t + s.ctx.options.write_timeout)
                {
                    session.close_now();
                } else {
                    session.handle_timeout(now.into_std());
                }
            }
        }
    }
    // A check still waiting for a permit is not worth its hash any more.
    if let Some((_, check)) = s.checking.take() {
        check.abort();
    }
    // Flush what is left (an unbind_resp, a generic_nack) briefly, then report.
    if !session.pending_transmit().is_empty() {
        let _ = timeout(Duration::from_secs(1), async {
            while !session.pending_transmit().is_empty() {
                match wr.write(session.pending_transmit()).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => session.advance_transmit(n),
                }
            }
            let _ = wr.flush().await;
        })
        .await;
    }
    let _ = timeout(Duration::from_secs(1), wr.shutdown()).await;
    s.fail_unsent(s.reason);
    s.ctx.observer.closed(s.reason);
    (s.reason, s.bound_once)
}

/// When the connection's one timer must move: it is armed no later than the next deadline,
/// and moved only when a deadline comes before the armed time or after it has fired.
#[derive(Debug, Default)]
struct Alarm {
    armed: Option<Instant>,
}

impl Alarm {
    /// The time to reset the timer to, if it must move so as to fire by `wake`.
    fn arm(&mut self, wake: Option<Instant>) -> Option<Instant> {
        let wake = wake?;
        if self.armed.is_some_and(|a| a <= wake) {
            return None;
        }
        self.armed = Some(wake);
        Some(wake)
    }

    fn is_armed(&self) -> bool {
        self.armed.is_some()
    }

    /// The timer fired: the next deadline arms it again, wherever it is.
    fn fired(&mut self) {
        self.armed = None;
    }
}

/// What woke the loop. A stack temporary.
enum Step {
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Command(Option<Command>),
    Deliver(Option<mpsc::OwnedPermit<Incoming>>),
    /// A bind's check ended (`None`: it panicked, or the runtime is shutting down).
    Checked(Option<BindCheck>),
    Timer,
}

/// A bind request and what the application decided.
type BindCheck = (BindRequest, Result<Vec<u8>, CommandStatus>);

struct Loop<'a> {
    rbuf: BytesMut,
    /// Throttled requests to resend, in the order they were first sent, before anything new.
    retry: VecDeque<Pending>,
    /// Requests sent on this connection so far (not counting resends): each one's
    /// [`Pending::first_sent`].
    sent: u64,
    /// Requests and unbinds taken from the application that wait, in order, behind a request
    /// that cannot go yet (TPS room, a pause, the window): the first is that request.
    waiting: VecDeque<Command>,
    paused_until: Option<Instant>,
    tps: Option<Throttle>,
    tps_wake: Option<Instant>,
    /// Inbound requests the application has not taken yet (reading stops meanwhile).
    overflow: VecDeque<Incoming>,
    stalled_since: Option<Instant>,
    reason: CloseReason,
    bound_once: bool,
    /// The last step took an application command (an answer, usually).
    just_took_command: bool,
    /// A bind being authenticated on the blocking pool: its sequence number and the check.
    checking: Option<(u32, tokio::task::JoinHandle<Option<BindCheck>>)>,
    /// This connection's number, stamped on the answers to its inbound requests.
    connection: u64,
    ctx: Ctx<'a>,
}

/// Numbers connections, process-wide, so an answer can tell which one it belongs to.
static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Loop<'_> {
    /// Moves queued commands into the session while the window, the TPS limit and any
    /// throttling pause allow.
    fn pump_commands(&mut self, session: &mut Session<Pending>, now: Instant) {
        if !matches!(session.state(), State::Bound(_) | State::Unbinding) {
            return;
        }
        loop {
            let (next, from_retry) = if let Some(p) = self.retry.pop_front() {
                (Command::Send(p), true)
            } else if let Some(c) = self.waiting.pop_front() {
                (c, false)
            } else {
                match self.ctx.commands.try_recv() {
                    Ok(c) => (c, false),
                    Err(_) => return,
                }
            };
            if !self.take_command(session, next, now, from_retry) {
                break;
            }
        }
        // A request has to wait: what else the application sent goes on being taken, answers
        // at once, requests and unbinds behind the waiting ones.
        while let Ok(c) = self.ctx.commands.try_recv() {
            self.take(session, c, now);
        }
    }

    /// Takes one command from the application: a request or an unbind joins the queue when
    /// requests wait, so the order holds; anything else (answers) is applied at once.
    fn take(&mut self, session: &mut Session<Pending>, c: Command, now: Instant) {
        match c {
            c @ (Command::Send(_) | Command::Unbind)
                if !self.retry.is_empty() || !self.waiting.is_empty() =>
            {
                self.waiting.push_back(c);
            }
            c => {
                self.take_command(session, c, now, false);
            }
        }
    }

    /// Applies one command; false when it had to wait (back at the front of `waiting` or
    /// `retry`) and pumping should stop. `from_retry`: a throttled request being sent again (see
    /// [`Loop::wait`]).
    fn take_command(
        &mut self,
        session: &mut Session<Pending>,
        c: Command,
        now: Instant,
        from_retry: bool,
    ) -> bool {
        match c {
            // An answer to a request of an earlier connection of this link (the ESME has
            // reconnected since) must not go out here: its sequence number could match one of
            // this connection's requests. Unanswered there, the peer sends it again.
            Command::Respond { connection, .. } | Command::RespondStatus { connection, .. }
                if connection != self.connection =>
            {
                tracing::debug!("answer for a closed connection dropped");
            }
            Command::Respond {
                sequence,
                status,
                body,
                ..
            } => {
                let _ = session.respond(sequence, status, &body);
            }
            Command::RespondStatus {
                sequence,
                request,
                status,
                ..
            } => {
                session.respond_status(sequence, request, status);
            }
            Command::Unbind => session.unbind(now.into_std()),
            Command::Send(mut p) => {
                if self.paused_until.is_some_and(|t| now < t) {
                    self.wait(p, from_retry);
                    return false;
                }
                self.paused_until = None;
                if let Some(tps) = &mut self.tps {
                    if let Err(at) = tps.try_acquire(now.into_std(), p.parts) {
                        self.tps_wake = Some(Instant::from_std(at));
                        self.wait(p, from_retry);
                        return false;
                    }
                    self.tps_wake = None;
                }
                if !session.has_window_room() {
                    self.wait(p, from_retry);
                    return false;
                }
                if !from_retry {
                    p.first_sent = self.sent;
                    self.sent += 1;
                }
                let id = p.reply.body().command_id();
                // Encoded from inside the token: the body stays in its cell for a resend.
                match session.send_request_in(now.into_std(), p, |p| p.reply.body()) {
                    Ok(_) => self.ctx.observer.request_sent(id, session.in_flight()),
                    Err(Rejected { error, token }) => {
                        token.reply.send(Err(error.into()));
                    }
                }
            }
        }
        true
    }

    fn handle_events(&mut self, session: &mut Session<Pending>, now: Instant) {
        while let Some(event) = session.poll_event() {
            match event {
                Event::Response {
                    mut token,
                    pdu,
                    sent_at,
                } => {
                    let id = token.reply.body().command_id();
                    let latency = now.into_std().saturating_duration_since(sent_at);
                    self.ctx.observer.response(id, pdu.command_status, latency);
                    if pdu.command_status == CommandStatus::THROTTLED {
                        if token.throttle_retries < self.ctx.options.max_throttle_retries {
                            token.throttle_retries += 1;
                            self.ctx.observer.throttled();
                            self.paused_until = Some(now + self.ctx.options.throttle_pause);
                            // Keep the original order: throttled requests go back in the
                            // order they were first sent, ahead of anything new, whatever
                            // order the peer answered them in.
                            let at = self
                                .retry
                                .iter()
                                .position(|r| r.first_sent > token.first_sent)
                                .unwrap_or(self.retry.len());
                            self.retry.insert(at, token);
                            continue;
                        }
                        let n = token.throttle_retries;
                        token.reply.send(Err(Error::Throttled(n)));
                        continue;
                    }
                    token.reply.send(Ok(pdu));
                }
                Event::Failed { token, reason, .. } => {
                    self.ctx
                        .observer
                        .request_failed(token.reply.body().command_id());
                    token.reply.send(Err(match reason {
                        FailReason::Timeout => Error::Timeout,
                        FailReason::Closed(r) => Error::ConnectionLost(r),
                        FailReason::MalformedResponse(e) => Error::MalformedResponse(e),
                    }));
                }
                Event::Request { pdu, frame } => {
                    let id = pdu.command_id();
                    self.ctx.observer.incoming(id);
                    let responder = Responder::new(
                        self.ctx.commands_tx.clone(),
                        self.connection,
                        pdu.sequence_number,
                        id,
                    );
                    let incoming = Incoming {
                        pdu,
                        frame,
                        responder,
                    };
                    if self.overflow.is_empty() {
                        match self.ctx.incoming.try_send(incoming) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(i)) => self.overflow.push_back(i),
                            // Nobody listens: the Responder's drop answers for us.
                            Err(mpsc::error::TrySendError::Closed(_)) => {}
                        }
                    } else {
                        self.overflow.push_back(incoming);
                    }
                }
                Event::BindRequest {
                    sequence,
                    kind,
                    bind,
                } => match &self.ctx.authenticate {
                    Some((auth, peer)) => {
                        let req = BindRequest {
                            kind,
                            bind,
                            peer: *peer,
                        };
                        let BindChecks {
                            authenticate,
                            permits,
                        } = auth.clone();
                        // The session refuses a second bind while this one is pending
                        // (ESME_RALYBND), so there is at most one check per connection; the
                        // permits bound them over all connections.
                        let check = tokio::spawn(async move {
                            let permit = permits.acquire_owned().await.ok();
                            tokio::task::spawn_blocking(move || {
                                let decision = authenticate(&req);
                                drop(permit);
                                (req, decision)
                            })
                            .await
                            .ok()
                        });
                        self.checking = Some((sequence, check));
                    }
                    None => {
                        let _ = session.reject_bind(sequence, CommandStatus::INVCMDID);
                    }
                },
                Event::Bound {
                    kind, system_id, ..
                } => {
                    self.ctx.observer.bound();
                    self.bound_once = true;
                    let _ = self.ctx.bound.send(Some(BoundInfo {
                        kind,
                        system_id,
                        peer: None,
                    }));
                }
                Event::Closed(reason) => {
                    self.reason = reason;
                    let _ = self.ctx.bound.send(None);
                }
            }
        }
    }

    /// Answers a bind once its check is done (the session may have closed meanwhile; then
    /// the answer goes nowhere).
    fn bind_checked(
        &mut self,
        session: &mut Session<Pending>,
        sequence: u32,
        outcome: Option<BindCheck>,
    ) {
        match outcome {
            Some((req, Ok(system_id))) => {
                if session.accept_bind(sequence, &system_id).is_ok() {
                    self.ctx.observer.bound();
                    self.bound_once = true;
                    let _ = self.ctx.bound.send(Some(BoundInfo {
                        kind: req.kind,
                        system_id: req.bind.system_id.clone(),
                        peer: Some(req.peer),
                    }));
                }
            }
            Some((_, Err(status))) => {
                let _ = session.reject_bind(sequence, status);
            }
            None => {
                tracing::error!("the bind check did not finish (it panicked, or the runtime is stopping); bind refused");
                let _ = session.reject_bind(sequence, CommandStatus::SYSERR);
            }
        }
    }

    /// Holds a request that cannot go yet at the front of the queue it came from: a throttled
    /// one in `retry`, which is sent first; anything else in `waiting`, which goes after
    /// `retry`. So nothing is dropped and the order holds: throttled requests in the order
    /// they were first sent (however the peer ordered its ESME_RTHROTTLED answers), then the
    /// rest in the order the application sent them. (A throttling answer that comes after the
    /// resending has begun puts its request behind those already resent.)
    fn wait(&mut self, p: Pending, from_retry: bool) {
        if from_retry {
            self.retry.push_front(p);
        } else {
            self.waiting.push_front(Command::Send(p));
        }
    }

    /// Requests taken from the application but never sent end with the close reason.
    fn fail_unsent(&mut self, reason: CloseReason) {
        let waiting = self.waiting.drain(..).filter_map(|c| match c {
            Command::Send(p) => Some(p),
            _ => None,
        });
        for p in self.retry.drain(..).chain(waiting) {
            p.reply.send(Err(Error::ConnectionLost(reason)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_moves_only_for_an_earlier_deadline_or_after_firing() {
        let t = Instant::now();
        let secs = Duration::from_secs;
        let mut alarm = Alarm::default();
        assert_eq!(alarm.arm(None), None);
        assert!(!alarm.is_armed());
        // Idle: armed at the keepalive.
        assert_eq!(alarm.arm(Some(t + secs(60))), Some(t + secs(60)));
        // A request's response deadline comes first: the timer moves to it.
        assert_eq!(alarm.arm(Some(t + secs(30))), Some(t + secs(30)));
        // Later deadlines (the next requests', the keepalive again) leave it early.
        assert_eq!(alarm.arm(Some(t + secs(31))), None);
        assert_eq!(alarm.arm(Some(t + secs(60))), None);
        assert_eq!(alarm.arm(None), None);
        assert!(alarm.is_armed());
        // Fired (early or not): armed again at whatever is next.
        alarm.fired();
        assert!(!alarm.is_armed());
        assert_eq!(alarm.arm(Some(t + secs(61))), Some(t + secs(61)));
    }
}
