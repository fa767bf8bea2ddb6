//! TLV tags: every optional parameter of SMPP 3.4 and 5.0, with its name and the value shape the
//! spec gives it.
//!
//! The shape drives strict validation and typed getters from one table, so a tag is described
//! once. Unknown and vendor tags (0x1400–0x3FFF) are values too and pass through untouched.

use std::fmt;

/// The tag of a TLV (optional parameter).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlvTag(pub u16);

/// The shape of a TLV's value as the spec defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlvKind {
    /// No value (length 0).
    Empty,
    /// An unsigned integer of 1, 2 or 4 octets.
    Int(u8),
    /// A C-Octet string: printable octets followed by a NUL, at most `max` octets with the NUL.
    CString {
        /// The longest allowed value, NUL included.
        max: u16,
    },
    /// Octets whose length lies in `min..=max`.
    Octets {
        /// The shortest allowed value.
        min: u16,
        /// The longest allowed value.
        max: u16,
    },
}

macro_rules! tags {
    ($($name:ident = $value:expr, $text:literal, $kind:expr;)*) => {
        impl TlvTag {
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $name: TlvTag = TlvTag($value);
            )*

            /// The spec's name of the tag, or `None` for an unknown or vendor tag.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }

            /// The value shape the spec gives this tag, or `None` when unknown.
            pub const fn kind(self) -> Option<TlvKind> {
                match self.0 {
                    $($value => Some($kind),)*
                    _ => None,
                }
            }

            /// Every standard tag of SMPP 3.4 and 5.0, in numeric order.
            pub const ALL: &'static [TlvTag] = &[$(TlvTag($value)),*];
        }
    };
}

const fn octets(min: u16, max: u16) -> TlvKind {
    TlvKind::Octets { min, max }
}
const fn cstr(max: u16) -> TlvKind {
    TlvKind::CString { max }
}
const U8: TlvKind = TlvKind::Int(1);
const U16: TlvKind = TlvKind::Int(2);
const U32: TlvKind = TlvKind::Int(4);

tags! {
    DEST_ADDR_SUBUNIT = 0x0005, "dest_addr_subunit", U8;
    DEST_NETWORK_TYPE = 0x0006, "dest_network_type", U8;
    DEST_BEARER_TYPE = 0x0007, "dest_bearer_type", U8;
    DEST_TELEMATICS_ID = 0x0008, "dest_telematics_id", U16;
    SOURCE_ADDR_SUBUNIT = 0x000D, "source_addr_subunit", U8;
    SOURCE_NETWORK_TYPE = 0x000E, "source_network_type", U8;
    SOURCE_BEARER_TYPE = 0x000F, "source_bearer_type", U8;
    SOURCE_TELEMATICS_ID = 0x0010, "source_telematics_id", octets(1, 2);
    QOS_TIME_TO_LIVE = 0x0017, "qos_time_to_live", U32;
    PAYLOAD_TYPE = 0x0019, "payload_type", U8;
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D, "additional_status_info_text", cstr(256);
    RECEIPTED_MESSAGE_ID = 0x001E, "receipted_message_id", cstr(65);
    MS_MSG_WAIT_FACILITIES = 0x0030, "ms_msg_wait_facilities", U8;
    PRIVACY_INDICATOR = 0x0201, "privacy_indicator", U8;
    SOURCE_SUBADDRESS = 0x0202, "source_subaddress", octets(2, 23);
    DEST_SUBADDRESS = 0x0203, "dest_subaddress", octets(2, 23);
    USER_MESSAGE_REFERENCE = 0x0204, "user_message_reference", U16;
    USER_RESPONSE_CODE = 0x0205, "user_response_code", U8;
    SOURCE_PORT = 0x020A, "source_port", U16;
    DESTINATION_PORT = 0x020B, "destination_port", U16;
    SAR_MSG_REF_NUM = 0x020C, "sar_msg_ref_num", U16;
    LANGUAGE_INDICATOR = 0x020D, "language_indicator", U8;
    SAR_TOTAL_SEGMENTS = 0x020E, "sar_total_segments", U8;
    SAR_SEGMENT_SEQNUM = 0x020F, "sar_segment_seqnum", U8;
    SC_INTERFACE_VERSION = 0x0210, "sc_interface_version", U8;
    CALLBACK_NUM_PRES_IND = 0x0302, "callback_num_pres_ind", U8;
    CALLBACK_NUM_ATAG = 0x0303, "callback_num_atag", octets(0, 65);
    NUMBER_OF_MESSAGES = 0x0304, "number_of_messages", U8;
    CALLBACK_NUM = 0x0381, "callback_num", octets(4, 19);
    DPF_RESULT = 0x0420, "dpf_result", U8;
    SET_DPF = 0x0421, "set_dpf", U8;
    MS_AVAILABILITY_STATUS = 0x0422, "ms_availability_status", U8;
    NETWORK_ERROR_CODE = 0x0423, "network_error_code", octets(3, 3);
    MESSAGE_PAYLOAD = 0x0424, "message_payload", octets(0, u16::MAX);
    DELIVERY_FAILURE_REASON = 0x0425, "delivery_failure_reason", U8;
    MORE_MESSAGES_TO_SEND = 0x0426, "more_messages_to_send", U8;
    MESSAGE_STATE = 0x0427, "message_state", U8;
    CONGESTION_STATE = 0x0428, "congestion_state", U8;
    USSD_SERVICE_OP = 0x0501, "ussd_service_op", U8;
    BROADCAST_CHANNEL_INDICATOR = 0x0600, "broadcast_channel_indicator", U8;
    BROADCAST_CONTENT_TYPE = 0x0601, "broadcast_content_type", octets(3, 3);
    BROADCAST_CONTENT_TYPE_INFO = 0x0602, "broadcast_content_type_info", octets(0, 255);
    BROADCAST_MESSAGE_CLASS = 0x0603, "broadcast_message_class", U8;
    BROADCAST_REP_NUM = 0x0604, "broadcast_rep_num", U16;
    BROADCAST_FREQUENCY_INTERVAL = 0x0605, "broadcast_frequency_interval", octets(3, 3);
    BROADCAST_AREA_IDENTIFIER = 0x0606, "broadcast_area_identifier", octets(1, u16::MAX);
    BROADCAST_ERROR_STATUS = 0x0607, "broadcast_error_status", U32;
    BROADCAST_AREA_SUCCESS = 0x0608, "broadcast_area_success", U8;
    BROADCAST_END_TIME = 0x0609, "broadcast_end_time", cstr(17);
    BROADCAST_SERVICE_GROUP = 0x060A, "broadcast_service_group", octets(0, 255);
    BILLING_IDENTIFICATION = 0x060B, "billing_identification", octets(0, 1024);
    SOURCE_NETWORK_ID = 0x060D, "source_network_id", cstr(65);
    DEST_NETWORK_ID = 0x060E, "dest_network_id", cstr(65);
    SOURCE_NODE_ID = 0x060F, "source_node_id", octets(6, 6);
    DEST_NODE_ID = 0x0610, "dest_node_id", octets(6, 6);
    DEST_ADDR_NP_RESOLUTION = 0x0611, "dest_addr_np_resolution", U8;
    DEST_ADDR_NP_INFORMATION = 0x0612, "dest_addr_np_information", octets(10, 10);
    DEST_ADDR_NP_COUNTRY = 0x0613, "dest_addr_np_country", octets(1, 5);
    DISPLAY_TIME = 0x1201, "display_time", U8;
    SMS_SIGNAL = 0x1203, "sms_signal", U16;
    MS_VALIDITY = 0x1204, "ms_validity", octets(1, 4);
    ALERT_ON_MESSAGE_DELIVERY = 0x130C, "alert_on_message_delivery", octets(0, 1);
    ITS_REPLY_TYPE = 0x1380, "its_reply_type", U8;
    ITS_SESSION_INFO = 0x1383, "its_session_info", octets(2, 2);
}

impl TlvTag {
    /// True for the range the spec reserves for SMSC vendors (0x1400–0x3FFF).
    pub const fn is_vendor(self) -> bool {
        matches!(self.0, 0x1400..=0x3FFF)
    }
}

impl fmt::Debug for TlvTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "TlvTag({:#06x})", self.0),
        }
    }
}

impl fmt::Display for TlvTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "tlv {:#06x}", self.0),
        }
    }
}
