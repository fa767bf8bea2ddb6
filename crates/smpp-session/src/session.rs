//! The session: one SMPP connection's protocol state, driven by bytes and time.
//!
//! # Contract (after quinn-proto's `Connection`)
//! - Feed input with [`Session::handle_input`] (read bytes) and [`Session::handle_timeout`] when
//!   the instant from [`Session::poll_timeout`] passes. Always feed pending input before timers,
//!   so a keepalive answer that already arrived is not mistaken for silence.
//! - After any call, drain [`Session::poll_event`], then write [`Session::pending_transmit`] to
//!   the socket and report progress with [`Session::advance_transmit`]; everything sent since
//!   the last write leaves in one batch.
//! - Application requests go in with [`Session::send_request`] and a token; the token comes back
//!   in exactly one [`Event::Response`] or [`Event::Failed`].
//! - When [`Session::state`] is [`State::Closed`], flush what is pending and close the socket;
//!   if the socket dies first, call [`Session::handle_connection_lost`].
//!
//! The session never reads a clock and never sleeps: every `now` is given.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use smpp_pdu::{
    encode_header_only, frame, Bind, BindResp, Body, CommandId, CommandStatus, DecodeOptions,
    Header, Malformed, Pdu, Tlvs,
};

use crate::error::{Rejected, SessionError};
use crate::sequence::Sequence;
use crate::state::{allowed_on, BindKind, Role, State};
use crate::window::{Entry, Owner, Window};

/// A session's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which end this is.
    pub role: Role,
    /// The most application requests outstanding at once.
    pub window: usize,
    /// How long a request waits for its response.
    pub response_timeout: Duration,
    /// Silence from the peer before an enquire_link is sent.
    pub enquire_link_interval: Duration,
    /// SMSC: how long a connection may stay unbound before it is closed.
    pub bind_timeout: Duration,
    /// How long an unbind waits for its response.
    pub unbind_timeout: Duration,
    /// Close the session after this long with nothing from the peer (`None`: never; the
    /// enquire_link timeout still catches a dead peer).
    pub idle_timeout: Option<Duration>,
    /// How inbound frames are checked.
    pub decode: DecodeOptions,
}

impl Config {
    /// Defaults for a side: window 100, 10 s responses, enquire_link after 30 s of silence,
    /// 10 s to bind, 5 s to unbind, no idle limit, strict decoding of frames up to 64 KiB.
    pub fn new(role: Role) -> Self {
        Config {
            role,
            window: 100,
            response_timeout: Duration::from_secs(10),
            enquire_link_interval: Duration::from_secs(30),
            bind_timeout: Duration::from_secs(10),
            unbind_timeout: Duration::from_secs(5),
            idle_timeout: None,
            decode: DecodeOptions::STRICT,
        }
    }
}

/// Why a session closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// An unbind completed, from either side.
    Unbound,
    /// The peer did not answer an enquire_link in time.
    KeepaliveTimeout,
    /// SMSC: the peer never bound. ESME: the bind was not answered.
    BindTimeout,
    /// The bind was refused with this status.
    BindRejected(CommandStatus),
    /// Nothing arrived from the peer for the idle timeout.
    IdleTimeout,
    /// Our unbind was not answered in time.
    UnbindTimeout,
    /// The byte stream could not be framed (a bad command_length).
    Protocol(smpp_pdu::Error),
    /// The connection went away.
    ConnectionLost,
    /// The application closed it.
    Local,
}

/// Why a request ended without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// No response within the response timeout.
    Timeout,
    /// The session closed first.
    Closed(CloseReason),
    /// The response arrived but its body could not be decoded.
    MalformedResponse(smpp_pdu::Error),
}

/// Something the application must know or act on.
#[derive(Debug)]
pub enum Event<T> {
    /// ESME: the bind was accepted. SMSC: never (the application accepted it itself).
    Bound {
        /// The bind's direction.
        kind: BindKind,
        /// The SMSC's system_id from the bind response.
        system_id: Bytes,
        /// `sc_interface_version`, when the SMSC sent it.
        interface_version: Option<u8>,
    },
    /// SMSC: a peer asks to bind. Answer with [`Session::accept_bind`] or
    /// [`Session::reject_bind`] and this sequence number.
    BindRequest {
        /// The request's sequence number.
        sequence: u32,
        /// The direction asked for.
        kind: BindKind,
        /// Credentials and address range.
        bind: Bind,
    },
    /// An inbound request for the application (submit_sm, deliver_sm, data_sm, query_sm, …;
    /// also outbind and alert_notification, which take no response). Answer with
    /// [`Session::respond`] using its sequence number.
    Request {
        /// The request, decoded.
        pdu: Pdu,
        /// The same request as it arrived, header included (the decoded fields share its
        /// memory): an application that forwards it unchanged sends its body as
        /// [`smpp_pdu::Encoded`] instead of encoding the fields again.
        frame: Bytes,
    },
    /// The response to one of the application's requests (a `generic_nack` included).
    Response {
        /// The token given with the request.
        token: T,
        /// The response.
        pdu: Pdu,
        /// When the request was sent, to measure latency.
        sent_at: Instant,
    },
    /// One of the application's requests ended without a usable response.
    Failed {
        /// The token given with the request.
        token: T,
        /// The request's sequence number.
        sequence: u32,
        /// Why.
        reason: FailReason,
    },
    /// The session closed; any request still outstanding was failed just before.
    Closed(CloseReason),
}

/// Counters for metrics; read them whenever convenient.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// PDUs decoded from the peer.
    pub pdus_in: u64,
    /// PDUs queued for the peer.
    pub pdus_out: u64,
    /// Frames from the peer that did not decode.
    pub malformed_in: u64,
    /// Responses whose sequence number matched nothing outstanding (late or bogus).
    pub unknown_responses: u64,
    /// Inbound requests refused for the bind state or direction.
    pub refused_for_state: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// enquire_links sent.
    pub keepalives_sent: u64,
}

/// Timers other than per-request deadlines, in a fixed table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Send an enquire_link when the peer has been silent this long.
    Keepalive = 0,
    /// SMSC: close if still unbound.
    Bind = 1,
    /// Close if our unbind is unanswered.
    Unbind = 2,
    /// Close after this much silence.
    Idle = 3,
}

const TIMERS: [Timer; 4] = [Timer::Keepalive, Timer::Bind, Timer::Unbind, Timer::Idle];

/// One SMPP session. `T` is the application's token for its requests.
#[derive(Debug)]
pub struct Session<T> {
    config: Config,
    state: State,
    sequence: Sequence,
    window: Window<T>,
    app_outstanding: usize,
    /// The peer's requests handed to the application and not answered by it yet.
    inbound_open: usize,
    /// The peer's unbind, waiting for those answers (see [`Session::handle_frame`]).
    peer_unbind: Option<u32>,
    keepalive_outstanding: bool,
    timers: [Option<Instant>; 4],
    out: BytesMut,
    events: VecDeque<Event<T>>,
    stats: Stats,
}

impl<T> Session<T> {
    /// A session on a connection that opened at `now`.
    pub fn new(config: Config, now: Instant) -> Self {
        let mut s = Session {
            window: Window::with_capacity(config.window),
            state: State::Open,
            sequence: Sequence::default(),
            app_outstanding: 0,
            inbound_open: 0,
            peer_unbind: None,
            keepalive_outstanding: false,
            timers: [None; 4],
            out: BytesMut::with_capacity(16 * 1024),
            events: VecDeque::new(),
            stats: Stats::default(),
            config,
        };
        s.heard_from_peer(now);
        if s.config.role == Role::Smsc {
            s.set(Timer::Bind, Some(now + s.config.bind_timeout));
        }
        s
    }

    /// Where the session is.
    pub fn state(&self) -> State {
        self.state
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Application requests awaiting a response.
    pub fn in_flight(&self) -> usize {
        self.app_outstanding
    }

    /// The peer's requests handed to the application and not answered by it yet.
    pub fn inbound_open(&self) -> usize {
        self.inbound_open
    }

    /// True when another application request would fit the window.
    pub fn has_window_room(&self) -> bool {
        self.app_outstanding < self.config.window
    }

    // ---- input ------------------------------------------------------------------------

    /// Takes every whole frame from `buf` (leaving a partial one) and handles each.
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) {
        while self.state != State::Closed {
            match frame::split_frame(buf, self.config.decode.max_command_length) {
                Ok(Some(f)) => self.handle_frame(now, f),
                Ok(None) => return,
                Err(e) => {
                    self.stats.malformed_in += 1;
                    buf.clear();
                    self.close(CloseReason::Protocol(e));
                }
            }
        }
    }

    /// Handles one whole frame.
    pub fn handle_frame(&mut self, now: Instant, frame: Bytes) {
        if self.state == State::Closed {
            return;
        }
        self.heard_from_peer(now);
        // A request's frame goes to the application beside its decoded form (one reference
        // count); a response's is not needed.
        let request = Header::parse(&frame)
            .is_some_and(|h| !h.command_id.is_response())
            .then(|| frame.clone());
        match Pdu::decode(frame, &self.config.decode) {
            Ok(pdu) => {
                self.stats.pdus_in += 1;
                match request {
                    Some(frame) => self.on_request(now, pdu, frame),
                    None => self.on_response(now, pdu),
                }
            }
            Err(bad) => self.on_malformed(bad),
        }
    }

    /// Fires every timer due at `now`: response timeouts, keepalive, bind/unbind/idle limits.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((seq, entry)) = self.window.pop_expired(now) {
            self.stats.timeouts += 1;
            match entry.owner {
                Owner::App(token) => {
                    self.app_outstanding -= 1;
                    self.events.push_back(Event::Failed {
                        token,
                        sequence: seq,
                        reason: FailReason::Timeout,
                    });
                }
                Owner::EnquireLink => return self.close(CloseReason::KeepaliveTimeout),
                Owner::Bind => return self.close(CloseReason::BindTimeout),
                Owner::Unbind => return self.close(CloseReason::UnbindTimeout),
            }
        }
        for timer in TIMERS {
            if self.state == State::Closed {
                return;
            }
            if self.timers[timer as usize].is_some_and(|t| t <= now) {
                self.timers[timer as usize] = None;
                match timer {
                    Timer::Keepalive => self.send_keepalive(now),
                    Timer::Bind => self.close(CloseReason::BindTimeout),
                    Timer::Unbind => match self.peer_unbind.take() {
                        // The application did not answer everything in time: the peer's
                        // unbind is answered now, and what is left unanswered is lost.
                        Some(seq) => {
                            self.answer(seq, CommandId::UNBIND, CommandStatus::OK);
                            self.close(CloseReason::Unbound);
                        }
                        None => self.close(CloseReason::UnbindTimeout),
                    },
                    Timer::Idle => self.close(CloseReason::IdleTimeout),
                }
            }
        }
    }

    /// The connection is gone: every outstanding request fails at once.
    pub fn handle_connection_lost(&mut self) {
        if self.state != State::Closed {
            self.close(CloseReason::ConnectionLost);
        }
    }

    // ---- output -----------------------------------------------------------------------

    /// The next instant [`Session::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let timers = self.timers.iter().flatten().copied();
        timers.chain(self.window.next_deadline()).min()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event<T>> {
        self.events.pop_front()
    }

    /// Bytes waiting to be written to the peer (many PDUs, in order).
    pub fn pending_transmit(&self) -> &[u8] {
        &self.out
    }

    /// Marks `n` bytes of [`Session::pending_transmit`] as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.out.advance(n.min(self.out.len()));
    }

    // ---- application calls --------------------------------------------------------------

    /// ESME: sends a bind request. The outcome arrives as [`Event::Bound`] or
    /// [`Event::Closed`] with [`CloseReason::BindRejected`].
    ///
    /// # Errors
    /// When this is an SMSC session or the session is not open.
    pub fn bind<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        kind: BindKind,
        bind: Bind<B>,
    ) -> Result<u32, SessionError> {
        if self.config.role != Role::Esme {
            return Err(SessionError::WrongRole("bind"));
        }
        if self.state != State::Open {
            return Err(SessionError::NotBound(self.state));
        }
        let body = match kind {
            BindKind::Transmitter => Body::BindTransmitter(Box::new(bind)),
            BindKind::Receiver => Body::BindReceiver(Box::new(bind)),
            BindKind::Transceiver => Body::BindTransceiver(Box::new(bind)),
        };
        let seq = self.send_internal(now, &body, Owner::Bind)?;
        self.state = State::Binding(kind);
        Ok(seq)
    }

    /// SMSC: accepts the bind announced by [`Event::BindRequest`].
    ///
    /// # Errors
    /// When no bind is pending.
    pub fn accept_bind(&mut self, sequence: u32, system_id: &[u8]) -> Result<(), SessionError> {
        let State::Binding(kind) = self.state else {
            return Err(SessionError::NotBound(self.state));
        };
        if self.config.role != Role::Smsc {
            return Err(SessionError::WrongRole("accept_bind"));
        }
        let resp = BindResp {
            system_id,
            tlvs: Tlvs::parse(&SC_INTERFACE_VERSION_34[..], true)?,
        };
        self.write(sequence, CommandStatus::OK, &bind_resp_body(kind, resp))?;
        self.state = State::Bound(kind);
        self.set(Timer::Bind, None);
        Ok(())
    }

    /// SMSC: refuses the pending bind with `status` and closes the session.
    ///
    /// # Errors
    /// When no bind is pending.
    pub fn reject_bind(
        &mut self,
        sequence: u32,
        status: CommandStatus,
    ) -> Result<(), SessionError> {
        let State::Binding(kind) = self.state else {
            return Err(SessionError::NotBound(self.state));
        };
        self.write_header(Header {
            command_length: 16,
            command_id: kind
                .command_id()
                .response()
                .unwrap_or(CommandId::GENERIC_NACK),
            command_status: status,
            sequence_number: sequence,
        });
        self.close(CloseReason::BindRejected(status));
        Ok(())
    }

    /// Sends an application request; its token comes back with the response or the failure.
    ///
    /// # Errors
    /// [`Rejected`] with the token when the session is not bound for this request, the window
    /// is full, or the PDU cannot be encoded.
    pub fn send_request<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        body: &Body<B>,
        token: T,
    ) -> Result<u32, Rejected<T>> {
        match self.encode_request(body) {
            Ok(seq) => Ok(self.track(now, seq, token)),
            Err(error) => Err(Rejected { error, token }),
        }
    }

    /// As [`Session::send_request`], for a token that holds its own request: `body_of` finds
    /// the body inside the token, so it is encoded where it lies — neither cloned nor moved
    /// apart from the token (a driver keeps the body in its token to resend it after
    /// `ESME_RTHROTTLED`).
    ///
    /// # Errors
    /// As [`Session::send_request`].
    pub fn send_request_in<B, F>(
        &mut self,
        now: Instant,
        token: T,
        body_of: F,
    ) -> Result<u32, Rejected<T>>
    where
        B: AsRef<[u8]>,
        F: FnOnce(&T) -> &Body<B>,
    {
        match self.encode_request(body_of(&token)) {
            Ok(seq) => Ok(self.track(now, seq, token)),
            Err(error) => Err(Rejected { error, token }),
        }
    }

    /// Checks an application request against the state and the window and encodes it under a
    /// fresh sequence number, which it returns; [`Session::track`] must follow.
    fn encode_request<B: AsRef<[u8]>>(&mut self, body: &Body<B>) -> Result<u32, SessionError> {
        let id = body.command_id();
        if id.is_response() || BindKind::from_request(id).is_some() {
            return Err(SessionError::WrongCommand(id));
        }
        match self.state {
            State::Bound(kind) if allowed_on(kind, self.config.role, id) => {}
            State::Bound(kind) => return Err(SessionError::NotAllowed { command: id, kind }),
            State::Closed => return Err(SessionError::Closed),
            other => return Err(SessionError::NotBound(other)),
        }
        if self.app_outstanding >= self.config.window {
            return Err(SessionError::WindowFull(self.app_outstanding));
        }
        let seq = self.sequence.next_free(|s| self.window.contains(s));
        self.write(seq, CommandStatus::OK, body)?;
        Ok(seq)
    }

    /// Puts an encoded application request in the window.
    fn track(&mut self, now: Instant, seq: u32, token: T) -> u32 {
        self.window.insert(
            seq,
            now + self.config.response_timeout,
            Entry {
                owner: Owner::App(token),
                sent_at: now,
            },
        );
        self.app_outstanding += 1;
        seq
    }

    /// Answers an inbound request.
    ///
    /// # Errors
    /// When `body` is not a response, or cannot be encoded.
    pub fn respond<B: AsRef<[u8]>>(
        &mut self,
        sequence: u32,
        status: CommandStatus,
        body: &Body<B>,
    ) -> Result<(), SessionError> {
        let id = body.command_id();
        if !id.is_response() {
            return Err(SessionError::WrongCommand(id));
        }
        if self.state == State::Closed {
            return Err(SessionError::Closed);
        }
        let written = self.write(sequence, status, body);
        self.answered();
        written
    }

    /// Answers an inbound request with a status and no body (3.4 omits the body of an error
    /// response).
    pub fn respond_status(&mut self, sequence: u32, request: CommandId, status: CommandStatus) {
        self.answer(sequence, request, status);
        self.answered();
    }

    /// One of the application's answers went out: when it was the last one the peer's unbind
    /// waited for, the unbind is answered and the session closes.
    fn answered(&mut self) {
        self.inbound_open = self.inbound_open.saturating_sub(1);
        if self.inbound_open == 0 {
            if let Some(seq) = self.peer_unbind.take() {
                self.answer(seq, CommandId::UNBIND, CommandStatus::OK);
                self.close(CloseReason::Unbound);
            }
        }
    }

    /// Writes a response with a status and no body.
    fn answer(&mut self, sequence: u32, request: CommandId, status: CommandStatus) {
        self.write_header(Header {
            command_length: 16,
            command_id: request.response().unwrap_or(CommandId::GENERIC_NACK),
            command_status: status,
            sequence_number: sequence,
        });
    }

    /// Starts an orderly unbind; the session closes when it is answered or times out.
    pub fn unbind(&mut self, now: Instant) {
        match self.state {
            State::Closed | State::Unbinding => {}
            State::Open => self.close(CloseReason::Local),
            State::Binding(_) | State::Bound(_) => {
                if self
                    .send_internal(now, &Body::<&[u8]>::Unbind, Owner::Unbind)
                    .is_ok()
                {
                    self.state = State::Unbinding;
                    self.set(Timer::Unbind, Some(now + self.config.unbind_timeout));
                    self.set(Timer::Keepalive, None);
                } else {
                    self.close(CloseReason::Local);
                }
            }
        }
    }

    /// Closes at once, failing what is outstanding (pending bytes may still be flushed).
    pub fn close_now(&mut self) {
        if self.state != State::Closed {
            self.close(CloseReason::Local);
        }
    }

    // ---- internals -------------------------------------------------------------------

    /// Hands a request to the application, counting those it must answer.
    fn hand_to_app(&mut self, pdu: Pdu, frame: Bytes) {
        if pdu.command_id().response().is_some() {
            self.inbound_open += 1;
        }
        self.events.push_back(Event::Request { pdu, frame });
    }

    fn on_request(&mut self, now: Instant, pdu: Pdu, frame: Bytes) {
        let id = pdu.command_id();
        let seq = pdu.sequence_number;
        let peer = match self.config.role {
            Role::Esme => Role::Smsc,
            Role::Smsc => Role::Esme,
        };
        match id {
            CommandId::ENQUIRE_LINK => {
                self.write_header(Header {
                    command_length: 16,
                    command_id: CommandId::ENQUIRE_LINK_RESP,
                    command_status: CommandStatus::OK,
                    sequence_number: seq,
                });
            }
            // The unbind_resp closes the connection, so it waits (at most `unbind_timeout`)
            // until the application has answered the requests that came before it: answers
            // lost with the connection would have the peer send those messages again.
            CommandId::UNBIND if self.inbound_open == 0 => {
                self.answer(seq, id, CommandStatus::OK);
                self.close(CloseReason::Unbound);
            }
            CommandId::UNBIND => {
                self.peer_unbind = Some(seq);
                self.state = State::Unbinding;
                self.set(Timer::Unbind, Some(now + self.config.unbind_timeout));
                self.set(Timer::Keepalive, None);
            }
            CommandId::BIND_TRANSMITTER
            | CommandId::BIND_RECEIVER
            | CommandId::BIND_TRANSCEIVER => {
                let status = match (self.config.role, self.state) {
                    (Role::Esme, _) => CommandStatus::INVCMDID,
                    (Role::Smsc, State::Open) => {
                        let (kind, bind) = match pdu.body {
                            Body::BindTransmitter(b) => (BindKind::Transmitter, b),
                            Body::BindReceiver(b) => (BindKind::Receiver, b),
                            Body::BindTransceiver(b) => (BindKind::Transceiver, b),
                            _ => return,
                        };
                        self.state = State::Binding(kind);
                        self.events.push_back(Event::BindRequest {
                            sequence: seq,
                            kind,
                            bind: *bind,
                        });
                        return;
                    }
                    (Role::Smsc, State::Binding(_) | State::Bound(_)) => CommandStatus::ALYBND,
                    (Role::Smsc, _) => CommandStatus::INVBNDSTS,
                };
                self.stats.refused_for_state += 1;
                self.answer(seq, id, status);
            }
            CommandId::OUTBIND => {
                if self.config.role == Role::Esme && self.state == State::Open {
                    self.hand_to_app(pdu, frame);
                } else {
                    self.stats.refused_for_state += 1;
                    self.answer(seq, CommandId::GENERIC_NACK, CommandStatus::INVBNDSTS);
                }
            }
            _ => {
                let allowed = match self.state {
                    State::Bound(kind) => allowed_on(kind, peer, id),
                    _ => false,
                };
                if allowed {
                    self.hand_to_app(pdu, frame);
                } else {
                    self.stats.refused_for_state += 1;
                    if id != CommandId::ALERT_NOTIFICATION {
                        self.answer(seq, id, CommandStatus::INVBNDSTS);
                    }
                }
            }
        }
    }

    fn on_response(&mut self, now: Instant, pdu: Pdu) {
        let Some(entry) = self.window.remove(pdu.sequence_number) else {
            self.stats.unknown_responses += 1;
            return;
        };
        match entry.owner {
            Owner::App(token) => {
                self.app_outstanding -= 1;
                self.events.push_back(Event::Response {
                    token,
                    pdu,
                    sent_at: entry.sent_at,
                });
            }
            Owner::EnquireLink => self.keepalive_outstanding = false,
            Owner::Unbind => self.close(CloseReason::Unbound),
            Owner::Bind => self.on_bind_response(now, pdu),
        }
    }

    fn on_bind_response(&mut self, now: Instant, pdu: Pdu) {
        let State::Binding(kind) = self.state else {
            return;
        };
        if !pdu.command_status.is_ok() {
            return self.close(CloseReason::BindRejected(pdu.command_status));
        }
        let matches_request = kind.command_id().response() == Some(pdu.command_id());
        let resp = match pdu.body {
            Body::BindTransmitterResp(r)
            | Body::BindReceiverResp(r)
            | Body::BindTransceiverResp(r)
                if matches_request =>
            {
                r
            }
            // A generic_nack or a mismatched response is a refusal.
            _ => {
                let status = if pdu.command_status.is_ok() {
                    CommandStatus::BINDFAIL
                } else {
                    pdu.command_status
                };
                return self.close(CloseReason::BindRejected(status));
            }
        };
        self.state = State::Bound(kind);
        self.heard_from_peer(now);
        self.events.push_back(Event::Bound {
            kind,
            interface_version: resp.tlvs.sc_interface_version(),
            system_id: resp.system_id,
        });
    }

    fn on_malformed(&mut self, bad: Malformed) {
        self.stats.malformed_in += 1;
        if bad.error.is_fatal() {
            return self.close(CloseReason::Protocol(bad.error));
        }
        let id = bad.header.command_id;
        if id.is_response() && id.is_known() {
            // A response we cannot read still ends its request, now rather than at timeout.
            if let Some(entry) = self.window.remove(bad.header.sequence_number) {
                match entry.owner {
                    Owner::App(token) => {
                        self.app_outstanding -= 1;
                        self.events.push_back(Event::Failed {
                            token,
                            sequence: bad.header.sequence_number,
                            reason: FailReason::MalformedResponse(bad.error),
                        });
                    }
                    Owner::EnquireLink => self.keepalive_outstanding = false,
                    Owner::Unbind => self.close(CloseReason::Unbound),
                    Owner::Bind => self.close(CloseReason::BindRejected(bad.error.status())),
                }
            } else {
                self.stats.unknown_responses += 1;
            }
            return;
        }
        if let Some(reply) = bad.reply_header() {
            self.write_header(reply);
        }
    }

    fn send_keepalive(&mut self, now: Instant) {
        if !self.keepalive_outstanding
            && matches!(
                self.state,
                State::Open | State::Binding(_) | State::Bound(_)
            )
            && self
                .send_internal(now, &Body::<&[u8]>::EnquireLink, Owner::EnquireLink)
                .is_ok()
        {
            self.keepalive_outstanding = true;
            self.stats.keepalives_sent += 1;
        }
        self.set(
            Timer::Keepalive,
            Some(now + self.config.enquire_link_interval),
        );
    }

    fn send_internal<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        body: &Body<B>,
        owner: Owner<T>,
    ) -> Result<u32, SessionError> {
        let seq = self.sequence.next_free(|s| self.window.contains(s));
        self.write(seq, CommandStatus::OK, body)?;
        self.window.insert(
            seq,
            now + self.config.response_timeout,
            Entry {
                owner,
                sent_at: now,
            },
        );
        Ok(seq)
    }

    fn write<B: AsRef<[u8]>>(
        &mut self,
        sequence: u32,
        status: CommandStatus,
        body: &Body<B>,
    ) -> Result<(), SessionError> {
        body.encode(sequence, status, &mut self.out)?;
        self.stats.pdus_out += 1;
        Ok(())
    }

    fn write_header(&mut self, header: Header) {
        encode_header_only(&header, &mut self.out);
        self.stats.pdus_out += 1;
    }

    fn heard_from_peer(&mut self, now: Instant) {
        if !matches!(self.state, State::Unbinding | State::Closed) {
            self.set(
                Timer::Keepalive,
                Some(now + self.config.enquire_link_interval),
            );
        }
        if let Some(idle) = self.config.idle_timeout {
            self.set(Timer::Idle, Some(now + idle));
        }
    }

    fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.timers[timer as usize] = at;
    }

    fn close(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.timers = [None; 4];
        self.app_outstanding = 0;
        self.inbound_open = 0;
        self.peer_unbind = None;
        self.keepalive_outstanding = false;
        let failed: Vec<_> = self.window.drain().collect();
        for (seq, entry) in failed {
            if let Owner::App(token) = entry.owner {
                self.events.push_back(Event::Failed {
                    token,
                    sequence: seq,
                    reason: FailReason::Closed(reason),
                });
            }
        }
        self.events.push_back(Event::Closed(reason));
    }
}

/// The `sc_interface_version` TLV announcing SMPP 3.4, sent in bind responses.
const SC_INTERFACE_VERSION_34: [u8; 5] = [0x02, 0x10, 0x00, 0x01, 0x34];

fn bind_resp_body<B>(kind: BindKind, resp: BindResp<B>) -> Body<B> {
    match kind {
        BindKind::Transmitter => Body::BindTransmitterResp(resp),
        BindKind::Receiver => Body::BindReceiverResp(resp),
        BindKind::Transceiver => Body::BindTransceiverResp(resp),
    }
}
