//! `command_id`: which operation a PDU carries.
//!
//! An open newtype rather than an enum: an unknown value read off the wire is still a value (the
//! session answers it with `generic_nack`/`ESME_RINVCMDID`), and its `Debug` prints the number.

use std::fmt;

/// The SMPP `command_id` header field. Responses have bit 31 set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u32);

macro_rules! command_ids {
    ($($name:ident = $value:expr, $text:literal;)*) => {
        impl CommandId {
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $name: CommandId = CommandId($value);
            )*

            /// The spec's name for this command (`submit_sm`), or `None` when unknown.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

command_ids! {
    GENERIC_NACK = 0x8000_0000, "generic_nack";
    BIND_RECEIVER = 0x0000_0001, "bind_receiver";
    BIND_RECEIVER_RESP = 0x8000_0001, "bind_receiver_resp";
    BIND_TRANSMITTER = 0x0000_0002, "bind_transmitter";
    BIND_TRANSMITTER_RESP = 0x8000_0002, "bind_transmitter_resp";
    QUERY_SM = 0x0000_0003, "query_sm";
    QUERY_SM_RESP = 0x8000_0003, "query_sm_resp";
    SUBMIT_SM = 0x0000_0004, "submit_sm";
    SUBMIT_SM_RESP = 0x8000_0004, "submit_sm_resp";
    DELIVER_SM = 0x0000_0005, "deliver_sm";
    DELIVER_SM_RESP = 0x8000_0005, "deliver_sm_resp";
    UNBIND = 0x0000_0006, "unbind";
    UNBIND_RESP = 0x8000_0006, "unbind_resp";
    REPLACE_SM = 0x0000_0007, "replace_sm";
    REPLACE_SM_RESP = 0x8000_0007, "replace_sm_resp";
    CANCEL_SM = 0x0000_0008, "cancel_sm";
    CANCEL_SM_RESP = 0x8000_0008, "cancel_sm_resp";
    BIND_TRANSCEIVER = 0x0000_0009, "bind_transceiver";
    BIND_TRANSCEIVER_RESP = 0x8000_0009, "bind_transceiver_resp";
    OUTBIND = 0x0000_000B, "outbind";
    ENQUIRE_LINK = 0x0000_0015, "enquire_link";
    ENQUIRE_LINK_RESP = 0x8000_0015, "enquire_link_resp";
    SUBMIT_MULTI = 0x0000_0021, "submit_multi";
    SUBMIT_MULTI_RESP = 0x8000_0021, "submit_multi_resp";
    ALERT_NOTIFICATION = 0x0000_0102, "alert_notification";
    DATA_SM = 0x0000_0103, "data_sm";
    DATA_SM_RESP = 0x8000_0103, "data_sm_resp";
    BROADCAST_SM = 0x0000_0111, "broadcast_sm";
    BROADCAST_SM_RESP = 0x8000_0111, "broadcast_sm_resp";
    QUERY_BROADCAST_SM = 0x0000_0112, "query_broadcast_sm";
    QUERY_BROADCAST_SM_RESP = 0x8000_0112, "query_broadcast_sm_resp";
    CANCEL_BROADCAST_SM = 0x0000_0113, "cancel_broadcast_sm";
    CANCEL_BROADCAST_SM_RESP = 0x8000_0113, "cancel_broadcast_sm_resp";
}

impl CommandId {
    const RESPONSE_BIT: u32 = 0x8000_0000;

    /// True for responses (bit 31 set), including `generic_nack`.
    pub const fn is_response(self) -> bool {
        self.0 & Self::RESPONSE_BIT != 0
    }

    /// The response that answers this request (`submit_sm` → `submit_sm_resp`), or `None` for
    /// responses and for requests that have none (`outbind`, `alert_notification`).
    pub const fn response(self) -> Option<CommandId> {
        if self.is_response() || self.0 == Self::OUTBIND.0 || self.0 == Self::ALERT_NOTIFICATION.0 {
            return None;
        }
        let resp = CommandId(self.0 | Self::RESPONSE_BIT);
        if resp.name().is_some() {
            Some(resp)
        } else {
            None
        }
    }

    /// True when the command is one this crate decodes.
    pub const fn is_known(self) -> bool {
        self.name().is_some()
    }
}

impl fmt::Debug for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "CommandId({:#010x})", self.0),
        }
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#010x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_pair_with_requests() {
        assert_eq!(
            CommandId::SUBMIT_SM.response(),
            Some(CommandId::SUBMIT_SM_RESP)
        );
        assert_eq!(
            CommandId::BROADCAST_SM.response(),
            Some(CommandId::BROADCAST_SM_RESP)
        );
        assert_eq!(CommandId::OUTBIND.response(), None);
        assert_eq!(CommandId::ALERT_NOTIFICATION.response(), None);
        assert_eq!(CommandId::GENERIC_NACK.response(), None);
        assert!(CommandId::GENERIC_NACK.is_response());
        assert_eq!(CommandId(0x0000_0099).response(), None);
    }

    #[test]
    fn unknown_values_print_their_number() {
        assert_eq!(format!("{:?}", CommandId(0x1234)), "CommandId(0x00001234)");
        assert_eq!(format!("{:?}", CommandId::DATA_SM), "data_sm");
    }
}
