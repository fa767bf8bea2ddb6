//! An ESME session and an SMSC session wired back to back in memory, on a fake clock: every
//! transition, the window, timeouts, keepalive, unbind from either side and wrong-state PDUs.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use smpp_pdu::{Bind, Body, CommandId, CommandStatus, DecodeOptions, MessageIdResp, Pdu, SubmitSm};
use smpp_session::*;

/// Two sessions and the bytes in flight between them.
struct Pair {
    now: Instant,
    esme: Session<u32>,
    smsc: Session<u32>,
    esme_events: Vec<Event<u32>>,
    smsc_events: Vec<Event<u32>>,
}

fn config(role: Role) -> Config {
    let mut c = Config::new(role);
    c.window = 3;
    c.response_timeout = Duration::from_secs(5);
    c.enquire_link_interval = Duration::from_secs(30);
    c.bind_timeout = Duration::from_secs(10);
    c
}

impl Pair {
    fn new() -> Self {
        Self::with(config(Role::Esme), config(Role::Smsc))
    }

    fn with(esme: Config, smsc: Config) -> Self {
        let now = Instant::now();
        Pair {
            now,
            esme: Session::new(esme, now),
            smsc: Session::new(smsc, now),
            esme_events: Vec::new(),
            smsc_events: Vec::new(),
        }
    }

    /// Moves bytes both ways until both sides are quiet, collecting events.
    fn pump(&mut self) {
        for _ in 0..100 {
            let a = move_bytes(&mut self.esme, &mut self.smsc, self.now);
            let b = move_bytes(&mut self.smsc, &mut self.esme, self.now);
            while let Some(e) = self.esme.poll_event() {
                self.esme_events.push(e);
            }
            while let Some(e) = self.smsc.poll_event() {
                self.smsc_events.push(e);
            }
            if !a && !b {
                return;
            }
        }
        panic!("sessions never went quiet");
    }

    /// Advances the fake clock, firing due timers on both sides.
    fn advance(&mut self, d: Duration) {
        self.now += d;
        for s in [&mut self.esme, &mut self.smsc] {
            if s.poll_timeout().is_some_and(|t| t <= self.now) {
                s.handle_timeout(self.now);
            }
        }
        self.pump();
    }

    fn bind(&mut self, kind: BindKind) {
        self.esme.bind(self.now, kind, credentials()).unwrap();
        self.pump();
        let Some(Event::BindRequest {
            sequence,
            kind: k,
            bind,
        }) = self.smsc_events.pop()
        else {
            panic!("no bind request: {:?}", self.smsc_events);
        };
        assert_eq!(k, kind);
        assert_eq!(&bind.system_id[..], b"esme1");
        assert_eq!(&bind.password[..], b"pw");
        self.smsc.accept_bind(sequence, b"SMSC").unwrap();
        self.pump();
        assert!(matches!(
            self.esme_events.pop(),
            Some(Event::Bound { kind: k2, ref system_id, interface_version: Some(0x34) })
                if k2 == kind && system_id == &b"SMSC"[..]
        ));
        assert_eq!(self.esme.state(), State::Bound(kind));
        assert_eq!(self.smsc.state(), State::Bound(kind));
    }
}

/// Writes what `from` has pending into `to`; true when anything moved.
fn move_bytes(from: &mut Session<u32>, to: &mut Session<u32>, now: Instant) -> bool {
    let pending = from.pending_transmit().len();
    if pending == 0 {
        return false;
    }
    let mut buf = BytesMut::from(from.pending_transmit());
    from.advance_transmit(pending);
    to.handle_input(now, &mut buf);
    true
}

fn credentials() -> Bind<&'static [u8]> {
    Bind {
        system_id: b"esme1",
        password: b"pw",
        interface_version: 0x34,
        ..Bind::default()
    }
}

fn submit() -> Body<&'static [u8]> {
    Body::SubmitSm(Box::new(SubmitSm {
        short_message: b"hello",
        ..SubmitSm::default()
    }))
}

fn submit_resp(id: &'static [u8]) -> Body<&'static [u8]> {
    Body::SubmitSmResp(MessageIdResp {
        message_id: id,
        ..MessageIdResp::default()
    })
}

/// Feeds a hand-made frame to a session and returns the PDUs it answers with.
fn answers(s: &mut Session<u32>, now: Instant, frame: Vec<u8>) -> Vec<Pdu> {
    s.handle_frame(now, Bytes::from(frame));
    let mut buf = BytesMut::from(s.pending_transmit());
    s.advance_transmit(buf.len());
    let mut out = Vec::new();
    while let Some(f) = smpp_pdu::frame::split_frame(&mut buf, 65536).unwrap() {
        out.push(Pdu::decode(f, &DecodeOptions::STRICT).unwrap());
    }
    out
}

fn encoded<B: AsRef<[u8]>>(seq: u32, body: Body<B>) -> Vec<u8> {
    let mut b = BytesMut::new();
    Pdu::new(seq, body).encode(&mut b).unwrap();
    b.to_vec()
}

#[test]
fn bind_submit_respond() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    let seq = p.esme.send_request(p.now, &submit(), 77).unwrap();
    p.pump();
    let Some(Event::Request { pdu: req, frame }) = p.smsc_events.pop() else {
        panic!()
    };
    assert_eq!(req.sequence_number, seq);
    assert!(matches!(req.body, Body::SubmitSm(ref s) if &s.short_message[..] == b"hello"));
    // The request's frame comes with it, exactly as the ESME sent it.
    assert_eq!(&frame[..], &encoded(seq, submit())[..]);
    p.smsc
        .respond(seq, CommandStatus::OK, &submit_resp(b"abc"))
        .unwrap();
    p.pump();
    let Some(Event::Response { token, pdu, .. }) = p.esme_events.pop() else {
        panic!()
    };
    assert_eq!(token, 77);
    assert!(matches!(pdu.body, Body::SubmitSmResp(ref r) if &r.message_id[..] == b"abc"));
    assert_eq!(p.esme.in_flight(), 0);
}

#[test]
fn requests_before_bind_are_refused() {
    let mut p = Pair::new();
    let err = p.esme.send_request(p.now, &submit(), 1).unwrap_err();
    assert_eq!(err.error, SessionError::NotBound(State::Open));
    assert_eq!(err.token, 1);
    // From the wire: an SMSC answers a submit_sm before bind with ESME_RINVBNDSTS.
    let out = answers(&mut p.smsc, p.now, encoded(9, submit()));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].command_id(), CommandId::SUBMIT_SM_RESP);
    assert_eq!(out[0].command_status, CommandStatus::INVBNDSTS);
    assert_eq!(out[0].sequence_number, 9);
}

#[test]
fn a_second_bind_gets_already_bound() {
    let mut p = Pair::new();
    p.bind(BindKind::Transmitter);
    let out = answers(
        &mut p.smsc,
        p.now,
        encoded(50, Body::BindTransceiver(Box::new(credentials()))),
    );
    assert_eq!(out[0].command_id(), CommandId::BIND_TRANSCEIVER_RESP);
    assert_eq!(out[0].command_status, CommandStatus::ALYBND);
    assert_eq!(p.smsc.state(), State::Bound(BindKind::Transmitter));
}

#[test]
fn bind_direction_is_enforced() {
    let mut p = Pair::new();
    p.bind(BindKind::Transmitter);
    // The SMSC may not deliver to a transmitter...
    let deliver = Body::DeliverSm(Box::new(SubmitSm::<&[u8]>::default()));
    let err = p.smsc.send_request(p.now, &deliver, 1).unwrap_err();
    assert_eq!(
        err.error,
        SessionError::NotAllowed {
            command: CommandId::DELIVER_SM,
            kind: BindKind::Transmitter
        }
    );
    // ...and a transmitter ESME refuses a deliver_sm that arrives anyway.
    let out = answers(&mut p.esme, p.now, encoded(5, deliver));
    assert_eq!(out[0].command_id(), CommandId::DELIVER_SM_RESP);
    assert_eq!(out[0].command_status, CommandStatus::INVBNDSTS);
    // A receiver may not submit.
    let mut p = Pair::new();
    p.bind(BindKind::Receiver);
    assert!(matches!(
        p.esme.send_request(p.now, &submit(), 1).unwrap_err().error,
        SessionError::NotAllowed { .. }
    ));
}

#[test]
fn a_refused_bind_closes_the_session() {
    let mut p = Pair::new();
    p.esme
        .bind(p.now, BindKind::Transceiver, credentials())
        .unwrap();
    p.pump();
    let Some(Event::BindRequest { sequence, .. }) = p.smsc_events.pop() else {
        panic!()
    };
    p.smsc
        .reject_bind(sequence, CommandStatus::INVPASWD)
        .unwrap();
    p.pump();
    assert!(matches!(
        p.esme_events.pop(),
        Some(Event::Closed(CloseReason::BindRejected(
            CommandStatus::INVPASWD
        )))
    ));
    assert_eq!(p.smsc.state(), State::Closed);
}

#[test]
fn the_window_fills_and_empties() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    for token in 0..3 {
        p.esme.send_request(p.now, &submit(), token).unwrap();
    }
    assert!(!p.esme.has_window_room());
    let err = p.esme.send_request(p.now, &submit(), 3).unwrap_err();
    assert_eq!(err.error, SessionError::WindowFull(3));
    p.pump();
    let Some(Event::Request { pdu: req, .. }) = p.smsc_events.pop() else {
        panic!()
    };
    p.smsc
        .respond(req.sequence_number, CommandStatus::OK, &submit_resp(b"x"))
        .unwrap();
    p.pump();
    assert!(p.esme.has_window_room());
    p.esme.send_request(p.now, &submit(), 3).unwrap();
}

#[test]
fn responses_time_out_and_late_ones_are_counted() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    let seq = p.esme.send_request(p.now, &submit(), 42).unwrap();
    p.pump();
    p.advance(Duration::from_secs(4));
    assert!(p.esme_events.is_empty());
    p.advance(Duration::from_secs(1));
    assert!(matches!(
        p.esme_events.pop(),
        Some(Event::Failed { token: 42, sequence, reason: FailReason::Timeout }) if sequence == seq
    ));
    assert_eq!(p.esme.in_flight(), 0);
    p.smsc
        .respond(seq, CommandStatus::OK, &submit_resp(b"late"))
        .unwrap();
    p.pump();
    assert!(p.esme_events.is_empty());
    assert_eq!(p.esme.stats().unknown_responses, 1);
}

#[test]
fn enquire_link_keeps_a_live_peer_and_closes_a_dead_one() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    // 30 s of silence: both sides send an enquire_link and both answer.
    p.advance(Duration::from_secs(30));
    assert_eq!(p.esme.stats().keepalives_sent, 1);
    assert_eq!(p.esme.state(), State::Bound(BindKind::Transceiver));
    // Now the SMSC stops answering: drop whatever it sends.
    p.now += Duration::from_secs(30);
    p.esme.handle_timeout(p.now);
    assert_eq!(p.esme.stats().keepalives_sent, 2);
    let n = p.esme.pending_transmit().len();
    p.esme.advance_transmit(n);
    p.now += Duration::from_secs(5);
    p.esme.handle_timeout(p.now);
    assert_eq!(p.esme.state(), State::Closed);
    assert!(matches!(
        p.esme.poll_event(),
        Some(Event::Closed(CloseReason::KeepaliveTimeout))
    ));
}

#[test]
fn unbind_from_the_esme() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    p.esme.unbind(p.now);
    assert_eq!(p.esme.state(), State::Unbinding);
    assert!(p.esme.send_request(p.now, &submit(), 1).is_err());
    p.pump();
    assert!(matches!(
        p.smsc_events.pop(),
        Some(Event::Closed(CloseReason::Unbound))
    ));
    assert!(matches!(
        p.esme_events.pop(),
        Some(Event::Closed(CloseReason::Unbound))
    ));
}

#[test]
fn unbind_from_the_smsc_fails_outstanding_requests() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    p.esme.send_request(p.now, &submit(), 1).unwrap();
    p.esme.send_request(p.now, &submit(), 2).unwrap();
    p.pump();
    p.smsc.unbind(p.now);
    p.pump();
    let failed: Vec<_> = p
        .esme_events
        .iter()
        .filter_map(|e| match e {
            Event::Failed {
                token,
                reason: FailReason::Closed(CloseReason::Unbound),
                ..
            } => Some(*token),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(matches!(
        p.smsc_events.pop(),
        Some(Event::Closed(CloseReason::Unbound))
    ));
}

/// The requests the SMSC handed to its application before the ESME's unbind still get their
/// answers: the unbind_resp (which closes the connection) waits for them.
#[test]
fn an_unbind_from_the_peer_waits_for_the_answers_before_it() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    p.esme.send_request(p.now, &submit(), 1).unwrap();
    p.esme.send_request(p.now, &submit(), 2).unwrap();
    p.pump();
    let seqs: Vec<u32> = p
        .smsc_events
        .drain(..)
        .filter_map(|e| match e {
            Event::Request { pdu, .. } => Some(pdu.sequence_number),
            _ => None,
        })
        .collect();
    assert_eq!(seqs.len(), 2);
    p.esme.unbind(p.now);
    p.pump();
    assert_eq!(p.smsc.state(), State::Unbinding, "answers still owed");
    assert_eq!(p.esme.state(), State::Unbinding);
    p.smsc
        .respond(seqs[0], CommandStatus::OK, &submit_resp(b"a"))
        .unwrap();
    p.pump();
    assert_eq!(p.smsc.state(), State::Unbinding, "one answer still owed");
    p.smsc
        .respond_status(seqs[1], CommandId::SUBMIT_SM, CommandStatus::THROTTLED);
    p.pump();
    let answered: Vec<(u32, CommandStatus)> = p
        .esme_events
        .iter()
        .filter_map(|e| match e {
            Event::Response { token, pdu, .. } => Some((*token, pdu.command_status)),
            _ => None,
        })
        .collect();
    assert_eq!(
        answered,
        [(1, CommandStatus::OK), (2, CommandStatus::THROTTLED)]
    );
    assert_eq!(p.smsc.state(), State::Closed);
    assert!(matches!(
        p.esme_events.pop(),
        Some(Event::Closed(CloseReason::Unbound))
    ));
    assert!(matches!(
        p.smsc_events.pop(),
        Some(Event::Closed(CloseReason::Unbound))
    ));
}

/// An application that never answers holds the peer's unbind for `unbind_timeout` at most.
#[test]
fn an_unbind_from_the_peer_waits_no_longer_than_the_unbind_timeout() {
    let mut smsc = config(Role::Smsc);
    smsc.unbind_timeout = Duration::from_secs(3);
    let mut p = Pair::with(config(Role::Esme), smsc);
    p.bind(BindKind::Transceiver);
    p.esme.send_request(p.now, &submit(), 1).unwrap();
    p.pump();
    p.esme.unbind(p.now);
    p.pump();
    p.advance(Duration::from_secs(2));
    assert_eq!(p.smsc.state(), State::Unbinding);
    p.advance(Duration::from_secs(1));
    assert_eq!(p.smsc.state(), State::Closed);
    assert!(matches!(
        p.esme_events.pop(),
        Some(Event::Closed(CloseReason::Unbound))
    ));
}

#[test]
fn unbind_times_out() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    p.esme.unbind(p.now);
    let n = p.esme.pending_transmit().len();
    p.esme.advance_transmit(n); // lost
    p.now += Duration::from_secs(5);
    p.esme.handle_timeout(p.now);
    assert_eq!(p.esme.state(), State::Closed);
}

#[test]
fn an_smsc_closes_a_connection_that_never_binds() {
    let mut p = Pair::new();
    p.advance(Duration::from_secs(9));
    assert_eq!(p.smsc.state(), State::Open);
    p.advance(Duration::from_secs(1));
    assert_eq!(p.smsc.state(), State::Closed);
    assert!(matches!(
        p.smsc_events.pop(),
        Some(Event::Closed(CloseReason::BindTimeout))
    ));
}

#[test]
fn idle_timeout_closes() {
    let mut smsc = config(Role::Smsc);
    smsc.idle_timeout = Some(Duration::from_secs(20));
    let mut p = Pair::with(config(Role::Esme), smsc);
    p.bind(BindKind::Transceiver);
    // The ESME goes silent (its keepalives are lost).
    p.now += Duration::from_secs(20);
    p.smsc.handle_timeout(p.now);
    assert_eq!(p.smsc.state(), State::Closed);
}

#[test]
fn connection_lost_fails_everything_at_once() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    for t in 0..3 {
        p.esme.send_request(p.now, &submit(), t).unwrap();
    }
    p.esme.handle_connection_lost();
    let mut tokens: Vec<u32> = std::iter::from_fn(|| p.esme.poll_event())
        .filter_map(|e| match e {
            Event::Failed {
                token,
                reason: FailReason::Closed(CloseReason::ConnectionLost),
                ..
            } => Some(token),
            _ => None,
        })
        .collect();
    tokens.sort();
    assert_eq!(tokens, vec![0, 1, 2]);
    assert_eq!(p.esme.poll_timeout(), None);
}

#[test]
fn malformed_input_is_answered_and_fatal_input_closes() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    // Unknown command → generic_nack with its sequence number.
    let mut f = encoded(31, Body::<&[u8]>::EnquireLink);
    f[4..8].copy_from_slice(&0x0000_0099u32.to_be_bytes());
    let out = answers(&mut p.smsc, p.now, f);
    assert_eq!(
        (
            out[0].command_id(),
            out[0].command_status,
            out[0].sequence_number
        ),
        (CommandId::GENERIC_NACK, CommandStatus::INVCMDID, 31)
    );
    // An unknown command with the response bit set is answered too: it matches nothing.
    let mut f = encoded(33, Body::<&[u8]>::EnquireLink);
    f[4..8].copy_from_slice(&0x8000_0099u32.to_be_bytes());
    let out = answers(&mut p.smsc, p.now, f);
    assert_eq!(
        (out[0].command_id(), out[0].sequence_number),
        (CommandId::GENERIC_NACK, 33)
    );
    // A submit_sm cut short → submit_sm_resp with the field's status.
    let mut f = encoded(32, submit());
    f.truncate(20);
    f[..4].copy_from_slice(&20u32.to_be_bytes());
    let out = answers(&mut p.smsc, p.now, f);
    assert_eq!(out[0].command_id(), CommandId::SUBMIT_SM_RESP);
    assert_eq!(out[0].sequence_number, 32);
    assert_eq!(p.smsc.stats().malformed_in, 3);
    // A command_length of 4 GiB ends the session without allocating it.
    let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4][..]);
    p.smsc.handle_input(p.now, &mut buf);
    assert_eq!(p.smsc.state(), State::Closed);
}

#[test]
fn a_malformed_response_fails_its_request_at_once() {
    let mut p = Pair::new();
    p.bind(BindKind::Transceiver);
    let seq = p.esme.send_request(p.now, &submit(), 5).unwrap();
    let mut f = encoded(seq, submit_resp(b"abc"));
    f[16..].copy_from_slice(b"abc\x01"); // no NUL terminator
    p.esme.handle_frame(p.now, Bytes::from(f));
    assert!(matches!(
        p.esme.poll_event(),
        Some(Event::Failed {
            token: 5,
            reason: FailReason::MalformedResponse(_),
            ..
        })
    ));
}

#[test]
fn enquire_link_is_answered_in_any_open_state() {
    let mut p = Pair::new();
    let out = answers(&mut p.smsc, p.now, encoded(3, Body::<&[u8]>::EnquireLink));
    assert_eq!(out[0].command_id(), CommandId::ENQUIRE_LINK_RESP);
    assert_eq!(out[0].sequence_number, 3);
}

/// A token that carries its own request, as a driver's does (to resend it after a throttle).
type Carried = (u32, Body<&'static [u8]>);

#[test]
fn a_request_is_encoded_from_inside_its_token_and_the_token_comes_back_whole() {
    let now = Instant::now();
    let mut esme: Session<Carried> = Session::new(config(Role::Esme), now);
    // Refused before the bind: the token, body included, comes back.
    let err = esme
        .send_request_in(now, (1, submit()), |t| &t.1)
        .unwrap_err();
    assert_eq!(err.error, SessionError::NotBound(State::Open));
    assert_eq!(err.token, (1, submit()));

    let bind_seq = esme
        .bind(now, BindKind::Transceiver, credentials())
        .unwrap();
    esme.advance_transmit(esme.pending_transmit().len());
    let bind_resp = Body::BindTransceiverResp(smpp_pdu::BindResp {
        system_id: &b"SMSC"[..],
        ..Default::default()
    });
    esme.handle_frame(now, Bytes::from(encoded(bind_seq, bind_resp)));
    assert!(matches!(esme.poll_event(), Some(Event::Bound { .. })));

    let seq = esme.send_request_in(now, (7, submit()), |t| &t.1).unwrap();
    let mut out = BytesMut::from(esme.pending_transmit());
    let frame = smpp_pdu::frame::split_frame(&mut out, 65536)
        .unwrap()
        .unwrap();
    let sent = Pdu::decode(frame, &DecodeOptions::STRICT).unwrap();
    assert_eq!(sent.sequence_number, seq);
    assert!(matches!(sent.body, Body::SubmitSm(ref s) if &s.short_message[..] == b"hello"));
    assert_eq!(esme.in_flight(), 1);

    esme.handle_frame(now, Bytes::from(encoded(seq, submit_resp(b"id"))));
    let Some(Event::Response { token, pdu, .. }) = esme.poll_event() else {
        panic!("no response")
    };
    assert_eq!(token, (7, submit()));
    assert_eq!(pdu.sequence_number, seq);
    assert_eq!(esme.in_flight(), 0);
}
