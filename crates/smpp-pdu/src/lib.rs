//! The SMPP 3.4 and 5.0 PDU codec of the router: wire types, decode and encode, TLVs,
//! `command_status`, text encodings, concatenation and delivery receipts. No I/O.
//!
//! # Decoding
//! A framer ([`frame::split_frame`]) cuts whole frames off a read buffer, checking the length
//! before allocating. [`Pdu::decode`] turns a frame into a [`Pdu`] whose strings and payloads are
//! slices of the frame — `Pdu<Bytes>` to keep it, `Pdu<&[u8]>` to borrow. A bad body comes back
//! as [`Malformed`], which keeps the header so the peer can be answered with the right status.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use smpp_pdu::{Body, DecodeOptions, Pdu};
//!
//! let frame = Bytes::from_static(&[0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 7]);
//! let pdu = Pdu::decode(frame, &DecodeOptions::STRICT).unwrap();
//! assert_eq!(pdu.body, Body::EnquireLink);
//!
//! let mut out = BytesMut::new();
//! Pdu::<Bytes>::new(7, Body::EnquireLinkResp).encode(&mut out).unwrap();
//! assert_eq!(&out[4..8], &[0x80, 0, 0, 0x15]);
//! ```

mod command_id;
pub mod concat;
mod error;
pub mod frame;
mod pdu;
pub mod receipt;
mod status;
pub mod text;
pub mod tlv;
mod types;
mod wire;

pub use command_id::CommandId;
pub use error::{Error, Field};
pub use pdu::{
    encode_header_only, AlertNotification, Bind, BindResp, Body, BroadcastSm, CancelBroadcastSm,
    CancelSm, DataSm, DeliverSm, Encoded, Malformed, MessageIdResp, MultiDest, Outbind, Pdu,
    QueryBroadcastSm, QuerySm, QuerySmResp, ReplaceSm, SubmitMulti, SubmitMultiResp, SubmitSm,
    UnsuccessSme,
};
pub use receipt::MessageState;
pub use status::CommandStatus;
pub use text::DataCoding;
pub use tlv::{TlvTag, Tlvs, TlvsBuilder};
pub use types::{Address, EsmClass, Npi, RegisteredDelivery, Ton};
pub use wire::{DecodeOptions, Header, Storage, HEADER_LEN};
