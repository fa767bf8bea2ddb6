//! Small value types of the mandatory fields: addresses with their TON/NPI, `esm_class`,
//! `registered_delivery`. Open newtypes with named constants, so unknown values survive.

use std::fmt;

use bytes::Bytes;

macro_rules! open_u8 {
    ($(#[$doc:meta])* $ty:ident { $($name:ident = $value:expr, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $ty(pub u8);

        impl $ty {
            $(
                #[doc = $text]
                pub const $name: $ty = $ty($value);
            )*

            /// The spec's name of the value, or `None` when it has none.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{}({:#04x})", stringify!($ty), self.0),
                }
            }
        }
    };
}

open_u8! {
    /// Type of number of an address.
    Ton {
        UNKNOWN = 0, "unknown";
        INTERNATIONAL = 1, "international";
        NATIONAL = 2, "national";
        NETWORK_SPECIFIC = 3, "network specific";
        SUBSCRIBER_NUMBER = 4, "subscriber number";
        ALPHANUMERIC = 5, "alphanumeric";
        ABBREVIATED = 6, "abbreviated";
    }
}

open_u8! {
    /// Numbering plan indicator of an address.
    Npi {
        UNKNOWN = 0, "unknown";
        ISDN = 1, "ISDN (E.163/E.164)";
        DATA = 3, "data (X.121)";
        TELEX = 4, "telex (F.69)";
        LAND_MOBILE = 6, "land mobile (E.212)";
        NATIONAL = 8, "national";
        PRIVATE = 9, "private";
        ERMES = 10, "ERMES";
        INTERNET = 14, "internet (IP)";
        WAP_CLIENT_ID = 18, "WAP client id";
    }
}

/// An address: type of number, numbering plan and the digits (or alphanumeric sender).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Address<B = Bytes> {
    /// Type of number.
    pub ton: Ton,
    /// Numbering plan.
    pub npi: Npi,
    /// The address itself, without its NUL.
    pub addr: B,
}

impl<B> Address<B> {
    /// An address from its parts.
    pub fn new(ton: Ton, npi: Npi, addr: B) -> Self {
        Address { ton, npi, addr }
    }

    /// Converts the storage.
    pub fn map<C>(self, f: impl FnOnce(B) -> C) -> Address<C> {
        Address {
            ton: self.ton,
            npi: self.npi,
            addr: f(self.addr),
        }
    }
}

/// `esm_class`: messaging mode (bits 0–1), message type (bits 2–5) and GSM features (6–7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EsmClass(pub u8);

impl EsmClass {
    /// Message type: an SMSC delivery receipt (in deliver_sm).
    pub const DELIVERY_RECEIPT: u8 = 0x04;
    /// Message type: an SME delivery acknowledgement.
    pub const DELIVERY_ACK: u8 = 0x08;
    /// Message type: an SME manual/user acknowledgement.
    pub const USER_ACK: u8 = 0x10;
    /// Message type: a conversation abort (Korean CDMA).
    pub const CONVERSATION_ABORT: u8 = 0x18;
    /// Message type: an intermediate delivery notification.
    pub const INTERMEDIATE_NOTIFICATION: u8 = 0x20;
    /// GSM feature: the short message starts with a User Data Header.
    pub const UDHI: u8 = 0x40;
    /// GSM feature: set reply path.
    pub const REPLY_PATH: u8 = 0x80;

    const TYPE_MASK: u8 = 0x3C;

    /// The message type bits (2–5).
    pub const fn message_type(self) -> u8 {
        self.0 & Self::TYPE_MASK
    }

    /// True when a deliver_sm with this class is a delivery receipt or intermediate
    /// notification rather than a mobile-originated message.
    pub const fn is_receipt(self) -> bool {
        matches!(
            self.message_type(),
            Self::DELIVERY_RECEIPT | Self::INTERMEDIATE_NOTIFICATION
        )
    }

    /// True when `short_message` starts with a User Data Header.
    pub const fn has_udh(self) -> bool {
        self.0 & Self::UDHI != 0
    }

    /// The same class with the UDHI bit set.
    pub const fn with_udh(self) -> Self {
        EsmClass(self.0 | Self::UDHI)
    }
}

impl fmt::Debug for EsmClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EsmClass({:#04x})", self.0)
    }
}

/// `registered_delivery`: which receipts and acknowledgements the sender asks for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RegisteredDelivery(pub u8);

impl RegisteredDelivery {
    /// No receipt.
    pub const NONE: RegisteredDelivery = RegisteredDelivery(0);
    /// A receipt on final success or failure.
    pub const FINAL: RegisteredDelivery = RegisteredDelivery(1);
    /// A receipt on failure only.
    pub const FAILURE: RegisteredDelivery = RegisteredDelivery(2);
    /// A receipt on success only (SMPP 5.0).
    pub const SUCCESS: RegisteredDelivery = RegisteredDelivery(3);

    /// The SMSC delivery receipt bits (0–1).
    pub const fn smsc_receipt(self) -> u8 {
        self.0 & 0x03
    }

    /// True when any SMSC receipt is asked for.
    pub const fn wants_receipt(self) -> bool {
        self.smsc_receipt() != 0
    }

    /// True when the sender asks for an intermediate notification (bit 4).
    pub const fn wants_intermediate(self) -> bool {
        self.0 & 0x10 != 0
    }
}

impl fmt::Debug for RegisteredDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegisteredDelivery({:#04x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esm_class_bits() {
        assert!(EsmClass(0x04).is_receipt());
        assert!(EsmClass(0x44).is_receipt());
        assert!(EsmClass(0x44).has_udh());
        assert!(!EsmClass(0x00).is_receipt());
        assert!(!EsmClass(0x08).is_receipt());
        assert_eq!(EsmClass(0x03).with_udh(), EsmClass(0x43));
    }

    #[test]
    fn registered_delivery_bits() {
        assert!(RegisteredDelivery(0x11).wants_receipt());
        assert!(RegisteredDelivery(0x11).wants_intermediate());
        assert!(!RegisteredDelivery(0x10).wants_receipt());
        assert_eq!(format!("{:?}", Ton(1)), "international");
        assert_eq!(format!("{:?}", Ton(9)), "Ton(0x09)");
    }
}
