//! The crate's one error type, and [`Field`], which names where in a PDU a problem is.
//!
//! Errors are small and `Copy`: they are made on the hot path from hostile input and must cost
//! nothing to return. Each maps to the `command_status` a peer should be answered with, so the
//! session never has to guess.

use std::fmt;

use crate::{CommandId, CommandStatus, TlvTag};

/// A mandatory field of a PDU body, named as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the spec's field of the same name
pub enum Field {
    SystemId,
    Password,
    SystemType,
    InterfaceVersion,
    AddrTon,
    AddrNpi,
    AddressRange,
    ServiceType,
    SourceAddrTon,
    SourceAddrNpi,
    SourceAddr,
    DestAddrTon,
    DestAddrNpi,
    DestinationAddr,
    EsmClass,
    ProtocolId,
    PriorityFlag,
    ScheduleDeliveryTime,
    ValidityPeriod,
    RegisteredDelivery,
    ReplaceIfPresentFlag,
    DataCoding,
    SmDefaultMsgId,
    SmLength,
    ShortMessage,
    MessageId,
    NumberOfDests,
    DestFlag,
    DlName,
    NoUnsuccess,
    ErrorStatusCode,
    FinalDate,
    MessageState,
    ErrorCode,
    EsmeAddrTon,
    EsmeAddrNpi,
    EsmeAddr,
}

impl Field {
    /// The spec's name of the field (`destination_addr`).
    pub const fn name(self) -> &'static str {
        match self {
            Field::SystemId => "system_id",
            Field::Password => "password",
            Field::SystemType => "system_type",
            Field::InterfaceVersion => "interface_version",
            Field::AddrTon => "addr_ton",
            Field::AddrNpi => "addr_npi",
            Field::AddressRange => "address_range",
            Field::ServiceType => "service_type",
            Field::SourceAddrTon => "source_addr_ton",
            Field::SourceAddrNpi => "source_addr_npi",
            Field::SourceAddr => "source_addr",
            Field::DestAddrTon => "dest_addr_ton",
            Field::DestAddrNpi => "dest_addr_npi",
            Field::DestinationAddr => "destination_addr",
            Field::EsmClass => "esm_class",
            Field::ProtocolId => "protocol_id",
            Field::PriorityFlag => "priority_flag",
            Field::ScheduleDeliveryTime => "schedule_delivery_time",
            Field::ValidityPeriod => "validity_period",
            Field::RegisteredDelivery => "registered_delivery",
            Field::ReplaceIfPresentFlag => "replace_if_present_flag",
            Field::DataCoding => "data_coding",
            Field::SmDefaultMsgId => "sm_default_msg_id",
            Field::SmLength => "sm_length",
            Field::ShortMessage => "short_message",
            Field::MessageId => "message_id",
            Field::NumberOfDests => "number_of_dests",
            Field::DestFlag => "dest_flag",
            Field::DlName => "dl_name",
            Field::NoUnsuccess => "no_unsuccess",
            Field::ErrorStatusCode => "error_status_code",
            Field::FinalDate => "final_date",
            Field::MessageState => "message_state",
            Field::ErrorCode => "error_code",
            Field::EsmeAddrTon => "esme_addr_ton",
            Field::EsmeAddrNpi => "esme_addr_npi",
            Field::EsmeAddr => "esme_addr",
        }
    }

    /// The status that answers a request whose field is bad.
    pub const fn status(self) -> CommandStatus {
        match self {
            Field::SystemId => CommandStatus::INVSYSID,
            Field::Password => CommandStatus::INVPASWD,
            Field::SystemType => CommandStatus::INVSYSTYP,
            Field::ServiceType => CommandStatus::INVSERTYP,
            Field::SourceAddr | Field::EsmeAddr => CommandStatus::INVSRCADR,
            Field::SourceAddrTon => CommandStatus::INVSRCTON,
            Field::SourceAddrNpi => CommandStatus::INVSRCNPI,
            Field::DestinationAddr => CommandStatus::INVDSTADR,
            Field::DestAddrTon => CommandStatus::INVDSTTON,
            Field::DestAddrNpi => CommandStatus::INVDSTNPI,
            Field::EsmClass => CommandStatus::INVESMCLASS,
            Field::PriorityFlag => CommandStatus::INVPRTFLG,
            Field::ScheduleDeliveryTime => CommandStatus::INVSCHED,
            Field::ValidityPeriod => CommandStatus::INVEXPIRY,
            Field::RegisteredDelivery => CommandStatus::INVREGDLVFLG,
            Field::ReplaceIfPresentFlag => CommandStatus::INVREPFLAG,
            Field::DataCoding => CommandStatus::INVDCS,
            Field::SmDefaultMsgId => CommandStatus::INVDFTMSGID,
            Field::SmLength | Field::ShortMessage => CommandStatus::INVMSGLEN,
            Field::MessageId => CommandStatus::INVMSGID,
            Field::NumberOfDests => CommandStatus::INVNUMDESTS,
            Field::DestFlag => CommandStatus::INVDESTFLAG,
            Field::DlName => CommandStatus::INVDLNAME,
            _ => CommandStatus::INVCMDLEN,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The frame's `command_length` is below the 16-octet header. Fatal to the stream.
    #[error("command_length {0} is shorter than the 16-octet header")]
    CommandLengthTooShort(u32),
    /// The frame's `command_length` exceeds the configured maximum. Fatal to the stream.
    #[error("command_length {length} exceeds the maximum of {max}")]
    CommandLengthTooLong {
        /// What the header said.
        length: u32,
        /// The configured limit.
        max: u32,
    },
    /// The frame given to the decoder is not as long as its `command_length` says.
    #[error("frame of {actual} octets does not match command_length {length}")]
    FrameLength {
        /// What the header said.
        length: u32,
        /// The octets given.
        actual: usize,
    },
    /// A `command_id` this crate does not know.
    #[error("unknown command_id {0}")]
    UnknownCommandId(CommandId),
    /// A field runs past the end of the PDU.
    #[error("{0} runs past the end of the PDU")]
    Truncated(Field),
    /// A C-string is longer than the spec allows for its field.
    #[error("{field} is longer than {max} octets")]
    TooLong {
        /// The field.
        field: Field,
        /// The spec's maximum, NUL included.
        max: u16,
    },
    /// A C-string has no NUL terminator before the end of the PDU.
    #[error("{0} has no NUL terminator")]
    Unterminated(Field),
    /// `sm_length` claims more octets than the PDU holds.
    #[error("sm_length {sm_length} exceeds the {available} octets left in the PDU")]
    SmLength {
        /// The declared length.
        sm_length: u8,
        /// What was left in the body.
        available: usize,
    },
    /// A field holds a value outside what the spec allows (bad time format, dest_flag, …).
    #[error("{0} has an invalid value")]
    InvalidValue(Field),
    /// Octets left after the last field of a PDU that carries no TLVs.
    #[error("{0} unexpected octets after the PDU body")]
    TrailingBytes(usize),
    /// A TLV header or value runs past the end of the PDU.
    #[error("TLV {0} runs past the end of the PDU")]
    TlvTruncated(TlvTag),
    /// A standard TLV has a length its definition does not allow.
    #[error("TLV {tag} has invalid length {length}")]
    TlvLength {
        /// The TLV.
        tag: TlvTag,
        /// Its length.
        length: u16,
    },
    /// A standard TLV's value is malformed (a C-string without its NUL, …).
    #[error("TLV {0} has an invalid value")]
    TlvValue(TlvTag),
    /// A value is too long for its length field when encoding (short_message over 255 octets,
    /// more than 255 destinations) or holds a NUL where a C-string must not.
    #[error("{0} cannot be encoded: too long or holds a NUL")]
    Unencodable(Field),
    /// A character the chosen alphabet cannot carry.
    #[error("character {0:?} cannot be encoded in the chosen alphabet")]
    UnencodableChar(char),
    /// UCS-2/UTF-16 data of odd length or with an unpaired surrogate.
    #[error("invalid UCS-2 data (odd length or unpaired surrogate)")]
    InvalidUcs2,
    /// A User Data Header whose lengths run past the header or the message.
    #[error("malformed user data header")]
    InvalidUdh,
    /// A text needs more than the 255 parts concatenation allows.
    #[error("{0} parts needed; concatenation allows 255")]
    TooManyParts(usize),
    /// Delivery receipt text with no `id:` field.
    #[error("delivery receipt has no id field")]
    ReceiptMissingId,
    /// An I/O error in the tokio codec (only its kind is kept, so the type stays `Copy`).
    #[error("I/O error: {0}")]
    Io(std::io::ErrorKind),
}

impl Error {
    /// The `command_status` that answers a request which failed with this error.
    pub const fn status(&self) -> CommandStatus {
        match self {
            Error::CommandLengthTooShort(_)
            | Error::CommandLengthTooLong { .. }
            | Error::FrameLength { .. }
            | Error::TrailingBytes(_) => CommandStatus::INVCMDLEN,
            Error::UnknownCommandId(_) => CommandStatus::INVCMDID,
            Error::Truncated(field) | Error::Unterminated(field) => match field {
                // A body that ends early is a length problem, whichever field it cut.
                Field::ShortMessage | Field::SmLength => CommandStatus::INVMSGLEN,
                _ => CommandStatus::INVCMDLEN,
            },
            Error::TooLong { field, .. } | Error::InvalidValue(field) => field.status(),
            Error::SmLength { .. } => CommandStatus::INVMSGLEN,
            Error::TlvTruncated(_) => CommandStatus::INVTLVSTREAM,
            Error::TlvLength { .. } => CommandStatus::INVTLVLEN,
            Error::TlvValue(_) => CommandStatus::INVTLVVAL,
            Error::UnencodableChar(_) | Error::InvalidUcs2 => CommandStatus::SUBMITFAIL,
            Error::InvalidUdh => CommandStatus::INVESMCLASS,
            Error::TooManyParts(_) => CommandStatus::INVMSGLEN,
            Error::ReceiptMissingId => CommandStatus::X_P_APPN,
            Error::Unencodable(_) | Error::Io(_) => CommandStatus::SYSERR,
        }
    }

    /// True when the error leaves the byte stream unframeable and the connection must close.
    pub const fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::CommandLengthTooShort(_) | Error::CommandLengthTooLong { .. } | Error::Io(_)
        )
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.kind())
    }
}
