//! `command_status`: the outcome a response reports.
//!
//! An open newtype: carriers send vendor codes (0x400–0x4FF) and codes from later versions, which
//! must survive a round trip. Every standard code of SMPP 3.4 and 5.0 has a constant, its spec
//! name and a one-line description for logs and operators.

use std::fmt;

/// The SMPP `command_status` header field.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CommandStatus(pub u32);

macro_rules! statuses {
    ($($name:ident = $value:expr, $text:literal, $desc:literal;)*) => {
        impl CommandStatus {
            $(
                #[doc = concat!("`", $text, "`: ", $desc)]
                pub const $name: CommandStatus = CommandStatus($value);
            )*

            /// The spec's name (`ESME_RTHROTTLED`), or `None` for a code the spec does not define.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }

            /// A one-line description of the code for logs and operators.
            pub const fn description(self) -> &'static str {
                match self.0 {
                    $($value => $desc,)*
                    0x400..=0x4FF => "SMSC vendor-specific error",
                    _ => "Reserved or unknown status",
                }
            }

            /// Every code the spec defines, in numeric order.
            pub const ALL: &'static [CommandStatus] = &[$(CommandStatus($value)),*];
        }
    };
}

statuses! {
    OK = 0x0000_0000, "ESME_ROK", "No error";
    INVMSGLEN = 0x0000_0001, "ESME_RINVMSGLEN", "Message length is invalid";
    INVCMDLEN = 0x0000_0002, "ESME_RINVCMDLEN", "Command length is invalid";
    INVCMDID = 0x0000_0003, "ESME_RINVCMDID", "Invalid command ID";
    INVBNDSTS = 0x0000_0004, "ESME_RINVBNDSTS", "Incorrect bind status for given command";
    ALYBND = 0x0000_0005, "ESME_RALYBND", "ESME already in bound state";
    INVPRTFLG = 0x0000_0006, "ESME_RINVPRTFLG", "Invalid priority flag";
    INVREGDLVFLG = 0x0000_0007, "ESME_RINVREGDLVFLG", "Invalid registered delivery flag";
    SYSERR = 0x0000_0008, "ESME_RSYSERR", "System error";
    INVSRCADR = 0x0000_000A, "ESME_RINVSRCADR", "Invalid source address";
    INVDSTADR = 0x0000_000B, "ESME_RINVDSTADR", "Invalid destination address";
    INVMSGID = 0x0000_000C, "ESME_RINVMSGID", "Message ID is invalid";
    BINDFAIL = 0x0000_000D, "ESME_RBINDFAIL", "Bind failed";
    INVPASWD = 0x0000_000E, "ESME_RINVPASWD", "Invalid password";
    INVSYSID = 0x0000_000F, "ESME_RINVSYSID", "Invalid system ID";
    CANCELFAIL = 0x0000_0011, "ESME_RCANCELFAIL", "Cancel SM failed";
    REPLACEFAIL = 0x0000_0013, "ESME_RREPLACEFAIL", "Replace SM failed";
    MSGQFUL = 0x0000_0014, "ESME_RMSGQFUL", "Message queue full";
    INVSERTYP = 0x0000_0015, "ESME_RINVSERTYP", "Invalid service type";
    INVNUMDESTS = 0x0000_0033, "ESME_RINVNUMDESTS", "Invalid number of destinations";
    INVDLNAME = 0x0000_0034, "ESME_RINVDLNAME", "Invalid distribution list name";
    INVDESTFLAG = 0x0000_0040, "ESME_RINVDESTFLAG", "Destination flag is invalid (submit_multi)";
    INVSUBREP = 0x0000_0042, "ESME_RINVSUBREP", "Invalid 'submit with replace' request";
    INVESMCLASS = 0x0000_0043, "ESME_RINVESMCLASS", "Invalid esm_class field data";
    CNTSUBDL = 0x0000_0044, "ESME_RCNTSUBDL", "Cannot submit to distribution list";
    SUBMITFAIL = 0x0000_0045, "ESME_RSUBMITFAIL", "submit_sm or submit_multi failed";
    INVSRCTON = 0x0000_0048, "ESME_RINVSRCTON", "Invalid source address TON";
    INVSRCNPI = 0x0000_0049, "ESME_RINVSRCNPI", "Invalid source address NPI";
    INVDSTTON = 0x0000_0050, "ESME_RINVDSTTON", "Invalid destination address TON";
    INVDSTNPI = 0x0000_0051, "ESME_RINVDSTNPI", "Invalid destination address NPI";
    INVSYSTYP = 0x0000_0053, "ESME_RINVSYSTYP", "Invalid system_type field";
    INVREPFLAG = 0x0000_0054, "ESME_RINVREPFLAG", "Invalid replace_if_present flag";
    INVNUMMSGS = 0x0000_0055, "ESME_RINVNUMMSGS", "Invalid number of messages";
    THROTTLED = 0x0000_0058, "ESME_RTHROTTLED", "Throttling error (ESME has exceeded allowed message limits)";
    INVSCHED = 0x0000_0061, "ESME_RINVSCHED", "Invalid scheduled delivery time";
    INVEXPIRY = 0x0000_0062, "ESME_RINVEXPIRY", "Invalid message validity period (expiry time)";
    INVDFTMSGID = 0x0000_0063, "ESME_RINVDFTMSGID", "Predefined message invalid or not found";
    X_T_APPN = 0x0000_0064, "ESME_RX_T_APPN", "ESME receiver temporary app error code";
    X_P_APPN = 0x0000_0065, "ESME_RX_P_APPN", "ESME receiver permanent app error code";
    X_R_APPN = 0x0000_0066, "ESME_RX_R_APPN", "ESME receiver reject message error code";
    QUERYFAIL = 0x0000_0067, "ESME_RQUERYFAIL", "query_sm request failed";
    INVTLVSTREAM = 0x0000_00C0, "ESME_RINVTLVSTREAM", "Error in the optional part of the PDU body";
    TLVNOTALLWD = 0x0000_00C1, "ESME_RTLVNOTALLWD", "Optional parameter not allowed";
    INVTLVLEN = 0x0000_00C2, "ESME_RINVTLVLEN", "Invalid parameter length";
    MISSINGTLV = 0x0000_00C3, "ESME_RMISSINGTLV", "Expected optional parameter missing";
    INVTLVVAL = 0x0000_00C4, "ESME_RINVTLVVAL", "Invalid optional parameter value";
    DELIVERYFAILURE = 0x0000_00FE, "ESME_RDELIVERYFAILURE", "Delivery failure (used for data_sm_resp)";
    UNKNOWNERR = 0x0000_00FF, "ESME_RUNKNOWNERR", "Unknown error";
    SERTYPUNAUTH = 0x0000_0100, "ESME_RSERTYPUNAUTH", "ESME not authorised to use specified service_type";
    PROHIBITED = 0x0000_0101, "ESME_RPROHIBITED", "ESME prohibited from using specified operation";
    SERTYPUNAVAIL = 0x0000_0102, "ESME_RSERTYPUNAVAIL", "Specified service_type is unavailable";
    SERTYPDENIED = 0x0000_0103, "ESME_RSERTYPDENIED", "Specified service_type is denied";
    INVDCS = 0x0000_0104, "ESME_RINVDCS", "Invalid data coding scheme";
    INVSRCADDRSUBUNIT = 0x0000_0105, "ESME_RINVSRCADDRSUBUNIT", "Source address sub unit is invalid";
    INVDSTADDRSUBUNIT = 0x0000_0106, "ESME_RINVDSTADDRSUBUNIT", "Destination address sub unit is invalid";
    INVBCASTFREQINT = 0x0000_0107, "ESME_RINVBCASTFREQINT", "Broadcast frequency interval is invalid";
    INVBCASTALIAS_NAME = 0x0000_0108, "ESME_RINVBCASTALIAS_NAME", "Broadcast alias name is invalid";
    INVBCASTAREAFMT = 0x0000_0109, "ESME_RINVBCASTAREAFMT", "Broadcast area format is invalid";
    INVNUMBCAST_AREAS = 0x0000_010A, "ESME_RINVNUMBCAST_AREAS", "Number of broadcast areas is invalid";
    INVBCASTCNTTYPE = 0x0000_010B, "ESME_RINVBCASTCNTTYPE", "Broadcast content type is invalid";
    INVBCASTMSGCLASS = 0x0000_010C, "ESME_RINVBCASTMSGCLASS", "Broadcast message class is invalid";
    BCASTFAIL = 0x0000_010D, "ESME_RBCASTFAIL", "broadcast_sm operation failed";
    BCASTQUERYFAIL = 0x0000_010E, "ESME_RBCASTQUERYFAIL", "query_broadcast_sm operation failed";
    BCASTCANCELFAIL = 0x0000_010F, "ESME_RBCASTCANCELFAIL", "cancel_broadcast_sm operation failed";
    INVBCAST_REP = 0x0000_0110, "ESME_RINVBCAST_REP", "Number of repeated broadcasts is invalid";
    INVBCASTSRVGRP = 0x0000_0111, "ESME_RINVBCASTSRVGRP", "Broadcast service group is invalid";
    INVBCASTCHANIND = 0x0000_0112, "ESME_RINVBCASTCHANIND", "Broadcast channel indicator is invalid";
}

impl CommandStatus {
    /// True for `ESME_ROK`.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// True for codes a sender should retry later rather than give up on: throttling, a full
    /// queue, a system error and the receiver's temporary application error.
    pub const fn is_transient(self) -> bool {
        matches!(self.0, 0x08 | 0x14 | 0x58 | 0x64)
    }
}

impl fmt::Debug for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "CommandStatus({:#010x})", self.0),
        }
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#x}): {}", self.0, self.description()),
            None => write!(f, "{:#x}: {}", self.0, self.description()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions() {
        assert_eq!(CommandStatus::THROTTLED.name(), Some("ESME_RTHROTTLED"));
        assert_eq!(CommandStatus(0x58), CommandStatus::THROTTLED);
        assert_eq!(CommandStatus(0x14).name(), Some("ESME_RMSGQFUL"));
        assert_eq!(
            CommandStatus(0x401).description(),
            "SMSC vendor-specific error"
        );
        assert_eq!(CommandStatus(0x401).name(), None);
        assert_eq!(
            format!("{:?}", CommandStatus(0x401)),
            "CommandStatus(0x00000401)"
        );
        assert_eq!(CommandStatus::OK.to_string(), "ESME_ROK (0x0): No error");
    }

    #[test]
    fn all_is_sorted_and_unique() {
        assert!(CommandStatus::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CommandStatus::ALL.len(), 67);
        for s in CommandStatus::ALL {
            assert!(s.name().is_some_and(|n| n.starts_with("ESME_R")));
            assert!(!s.description().is_empty());
        }
    }
}
