//! Bind states and what each allows: which side may send which request in which state.
//!
//! The rules are the spec's (SMPP 3.4 §2.3, 5.0 §2.4): a transmitter submits, a receiver is
//! delivered to, a transceiver does both; enquire_link and generic_nack are allowed in any open
//! state; everything else waits for a successful bind.

use smpp_pdu::CommandId;

/// Which way a bind carries messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindKind {
    /// The ESME submits; the SMSC does not deliver.
    Transmitter,
    /// The SMSC delivers; the ESME does not submit.
    Receiver,
    /// Both.
    Transceiver,
}

impl BindKind {
    /// The bind request's command_id.
    pub const fn command_id(self) -> CommandId {
        match self {
            BindKind::Transmitter => CommandId::BIND_TRANSMITTER,
            BindKind::Receiver => CommandId::BIND_RECEIVER,
            BindKind::Transceiver => CommandId::BIND_TRANSCEIVER,
        }
    }

    /// The bind kind a bind request asks for, if `id` is one.
    pub const fn from_request(id: CommandId) -> Option<BindKind> {
        match id {
            CommandId::BIND_TRANSMITTER => Some(BindKind::Transmitter),
            CommandId::BIND_RECEIVER => Some(BindKind::Receiver),
            CommandId::BIND_TRANSCEIVER => Some(BindKind::Transceiver),
            _ => None,
        }
    }

    /// True when the ESME may send ESME-originated messages (submit_sm, …) on this bind.
    pub const fn esme_may_submit(self) -> bool {
        !matches!(self, BindKind::Receiver)
    }

    /// True when the SMSC may send messages (deliver_sm, …) on this bind.
    pub const fn smsc_may_deliver(self) -> bool {
        !matches!(self, BindKind::Transmitter)
    }

    /// Lower-case name for logs and metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            BindKind::Transmitter => "transmitter",
            BindKind::Receiver => "receiver",
            BindKind::Transceiver => "transceiver",
        }
    }
}

/// Which end of the connection this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The client: it binds, submits and receives deliveries.
    Esme,
    /// The server: it accepts binds, takes submissions and delivers.
    Smsc,
}

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Connected, not bound.
    Open,
    /// A bind is in flight (the ESME sent it, or the SMSC is deciding on it).
    Binding(BindKind),
    /// Bound.
    Bound(BindKind),
    /// An unbind is in flight; no new requests.
    Unbinding,
    /// Finished: the driver should flush what is left to send and close the connection.
    Closed,
}

/// What a message-carrying request is, for the bind-direction rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Sent by the ESME (submit_sm, submit_multi, query_sm, cancel_sm, replace_sm,
    /// broadcast_sm, query/cancel_broadcast_sm).
    FromEsme,
    /// Sent by the SMSC (deliver_sm, alert_notification).
    FromSmsc,
    /// Either side (data_sm).
    Either,
    /// Session management (enquire_link, unbind, generic_nack, binds, outbind).
    Session,
}

fn direction(id: CommandId) -> Direction {
    match id {
        CommandId::SUBMIT_SM
        | CommandId::SUBMIT_MULTI
        | CommandId::QUERY_SM
        | CommandId::CANCEL_SM
        | CommandId::REPLACE_SM
        | CommandId::BROADCAST_SM
        | CommandId::QUERY_BROADCAST_SM
        | CommandId::CANCEL_BROADCAST_SM => Direction::FromEsme,
        CommandId::DELIVER_SM | CommandId::ALERT_NOTIFICATION => Direction::FromSmsc,
        CommandId::DATA_SM => Direction::Either,
        _ => Direction::Session,
    }
}

/// True when a request `id` sent by `sender` is allowed on a bind of `kind`.
pub fn allowed_on(kind: BindKind, sender: Role, id: CommandId) -> bool {
    match (direction(id), sender) {
        (Direction::Session, _) => true,
        (Direction::FromEsme, Role::Esme) => kind.esme_may_submit(),
        (Direction::FromSmsc, Role::Smsc) => kind.smsc_may_deliver(),
        (Direction::Either, Role::Esme) => kind.esme_may_submit(),
        (Direction::Either, Role::Smsc) => kind.smsc_may_deliver(),
        // An SMSC never submits; an ESME never delivers.
        (Direction::FromEsme, Role::Smsc) | (Direction::FromSmsc, Role::Esme) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_rules() {
        use BindKind::*;
        assert!(allowed_on(Transmitter, Role::Esme, CommandId::SUBMIT_SM));
        assert!(!allowed_on(Receiver, Role::Esme, CommandId::SUBMIT_SM));
        assert!(allowed_on(Transceiver, Role::Esme, CommandId::SUBMIT_SM));
        assert!(!allowed_on(Transmitter, Role::Smsc, CommandId::DELIVER_SM));
        assert!(allowed_on(Receiver, Role::Smsc, CommandId::DELIVER_SM));
        assert!(!allowed_on(Transceiver, Role::Esme, CommandId::DELIVER_SM));
        assert!(!allowed_on(Transceiver, Role::Smsc, CommandId::SUBMIT_SM));
        assert!(allowed_on(Receiver, Role::Esme, CommandId::ENQUIRE_LINK));
        assert!(!allowed_on(Transmitter, Role::Smsc, CommandId::DATA_SM));
        assert!(allowed_on(Receiver, Role::Smsc, CommandId::DATA_SM));
    }
}
