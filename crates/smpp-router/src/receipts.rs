//! Delivery receipts on their way back: which carrier message a receipt is about, and the
//! receipt the customer gets — the same deliver_sm with the carrier's id replaced by ours.
//!
//! The carrier's id is taken as the carrier wrote it, never converted between hex and decimal
//! or stripped of leading zeros (Jasmin's DLRMapNotFound came from that): the
//! `receipted_message_id` TLV when present, which carriers fill with the id their
//! submit_sm_resp gave, otherwise the `id:` of the receipt text. In the customer's copy both
//! places that carried the carrier id carry ours; every other field, TLV and octet of the text
//! stays as the carrier sent it, in order.

use bytes::{Bytes, BytesMut};
use smpp_pdu::receipt::{self, Receipt};
use smpp_pdu::{DeliverSm, MessageState, TlvTag, TlvsBuilder};

/// What a carrier's receipt says about which message, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarrierReceipt<'a> {
    /// The carrier's message id, as written.
    pub carrier_id: &'a [u8],
    /// The state, from the `message_state` TLV or the text's `stat:`.
    pub state: Option<MessageState>,
}

/// The receipt text: `short_message`, or the `message_payload` TLV when that carries it.
fn text(d: &DeliverSm) -> (&[u8], bool) {
    if d.short_message.is_empty() {
        if let Some(p) = d.tlvs.message_payload() {
            return (p, true);
        }
    }
    (&d.short_message, false)
}

/// Reads a receipt's carrier id and state, or `None` when it names no message. The text is
/// parsed only for what the TLVs do not say (most carriers send both, and the parse was a
/// visible share of the router's CPU per receipt).
pub fn read(d: &DeliverSm) -> Option<CarrierReceipt<'_>> {
    let tlv_id = d.tlvs.receipted_message_id().filter(|id| !id.is_empty());
    let tlv_state = d.tlvs.message_state();
    if let (Some(carrier_id), Some(state)) = (tlv_id, tlv_state) {
        return Some(CarrierReceipt {
            carrier_id,
            state: Some(state),
        });
    }
    let parsed = Receipt::parse(text(d).0).ok();
    let carrier_id = tlv_id.or_else(|| parsed.and_then(|r| r.id).filter(|id| !id.is_empty()))?;
    let state = tlv_state.or_else(|| parsed.and_then(|r| r.state()));
    Some(CarrierReceipt { carrier_id, state })
}

/// The customer's copy of `d` with our message id in place of the carrier's.
pub fn rewrite(d: &DeliverSm, our_id: &[u8]) -> DeliverSm {
    let (text, in_payload) = text(d);
    let mut rewritten = BytesMut::with_capacity(text.len() + our_id.len());
    // A text without an `id:` (the TLV alone named the message) is passed on unchanged.
    let text_changed = receipt::rewrite_id(text, our_id, &mut rewritten).is_ok();
    let new_text = if text_changed {
        if !in_payload && rewritten.len() > usize::from(u8::MAX) {
            // Our id is longer than the carrier's and the text was near short_message's 255
            // octets: the end goes (in the standard layout, the `text:` snippet), or the
            // receipt could not be encoded and the carrier would be refused for ever.
            rewritten.truncate(usize::from(u8::MAX));
        }
        rewritten.freeze()
    } else {
        Bytes::copy_from_slice(text)
    };

    // Room for the carrier's TLVs with our id in place of theirs (a longer text in the
    // payload may still grow it once).
    let mut tlvs = TlvsBuilder::with_capacity(d.tlvs.as_bytes().len() + our_id.len() + 5);
    for t in d.tlvs.iter() {
        let done = match t.tag {
            TlvTag::RECEIPTED_MESSAGE_ID => tlvs.receipted_message_id(our_id).is_ok(),
            TlvTag::MESSAGE_PAYLOAD if in_payload => tlvs.octets(t.tag, &new_text).is_ok(),
            _ => false,
        };
        if !done {
            // Values came off the wire, so they fit; an oversized rewrite keeps the original.
            let _ = tlvs.octets(t.tag, t.value);
        }
    }
    DeliverSm {
        short_message: if in_payload {
            d.short_message.clone()
        } else {
            new_text
        },
        tlvs: tlvs.build(),
        ..d.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_that_our_longer_id_would_overfill_loses_its_end_not_the_receipt() {
        let mut text = b"id:1A sub:001 dlvrd:001 submit date:2611230412 done date:2611230413 stat:DELIVRD err:000 text:".to_vec();
        text.resize(255, b'x');
        let d = DeliverSm {
            short_message: Bytes::from(text),
            ..Default::default()
        };
        let ours = b"18446744073709551615";
        let r = rewrite(&d, ours);
        assert_eq!(r.short_message.len(), 255);
        assert!(r
            .short_message
            .starts_with(b"id:18446744073709551615 sub:001"));
        let mut buf = BytesMut::new();
        smpp_pdu::Body::DeliverSm(Box::new(r))
            .encode(1, smpp_pdu::CommandStatus::OK, &mut buf)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    use smpp_pdu::{Address, EsmClass, Npi, Ton};

    const TEXT: &[u8] = b"id:0012AB sub:001 dlvrd:001 submit date:2611230412 done date:2611230413 stat:DELIVRD err:000 text:Your code";

    fn carrier_receipt(text: &'static [u8], tlv_id: Option<&[u8]>, payload: bool) -> DeliverSm {
        let mut tlvs = TlvsBuilder::new();
        tlvs.u16(TlvTag::USER_MESSAGE_REFERENCE, 7);
        if let Some(id) = tlv_id {
            tlvs.receipted_message_id(id).ok();
            tlvs.message_state(MessageState::DELIVERED);
        }
        tlvs.octets(TlvTag(0x1401), b"vendor").ok();
        if payload {
            tlvs.octets(TlvTag::MESSAGE_PAYLOAD, text).ok();
        }
        DeliverSm {
            source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"447700900123")),
            dest: Address::new(Ton(5), Npi(0), Bytes::from_static(b"ACME")),
            esm_class: EsmClass(0x04),
            short_message: if payload {
                Bytes::new()
            } else {
                Bytes::from_static(text)
            },
            tlvs: tlvs.build(),
            ..Default::default()
        }
    }

    #[test]
    fn what_the_tlvs_leave_out_is_read_from_the_text() {
        let text = b"id:77 sub:001 dlvrd:000 submit date:2611230412 done date:2611230413 stat:UNDELIV err:001 text:";
        // The id in a TLV, the state only in the text.
        let mut tlvs = TlvsBuilder::new();
        tlvs.receipted_message_id(b"0x4d").ok();
        let d = DeliverSm {
            esm_class: EsmClass(0x04),
            short_message: Bytes::from_static(text),
            tlvs: tlvs.build(),
            ..Default::default()
        };
        let r = read(&d).unwrap_or_else(|| panic!("no id"));
        assert_eq!(r.carrier_id, b"0x4d");
        assert_eq!(r.state, Some(MessageState::UNDELIVERABLE));
        // The state in a TLV, the id only in the text.
        let mut tlvs = TlvsBuilder::new();
        tlvs.message_state(MessageState::EXPIRED);
        let d = DeliverSm {
            tlvs: tlvs.build(),
            ..d
        };
        let r = read(&d).unwrap_or_else(|| panic!("no id"));
        assert_eq!(r.carrier_id, b"77");
        assert_eq!(r.state, Some(MessageState::EXPIRED));
    }

    #[test]
    fn the_tlv_id_is_preferred_and_kept_as_written() {
        let d = carrier_receipt(TEXT, Some(b"0012ab"), false);
        let r = read(&d).unwrap_or_else(|| panic!("no id"));
        assert_eq!(r.carrier_id, b"0012ab");
        assert_eq!(r.state, Some(MessageState::DELIVERED));
        let d = carrier_receipt(TEXT, None, false);
        let r = read(&d).unwrap_or_else(|| panic!("no id"));
        assert_eq!(r.carrier_id, b"0012AB", "leading zeros and case kept");
        assert_eq!(r.state, Some(MessageState::DELIVERED));
        let none = carrier_receipt(b"stat:DELIVRD", None, false);
        assert_eq!(read(&none), None);
    }

    #[test]
    fn our_id_replaces_the_carriers_everywhere_and_nothing_else_changes() {
        for payload in [false, true] {
            let d = carrier_receipt(TEXT, Some(b"0012AB"), payload);
            let out = rewrite(&d, b"00000A1B2C3D4E5F");
            let (text, _) = super::text(&out);
            assert_eq!(
                text,
                &b"id:00000A1B2C3D4E5F sub:001 dlvrd:001 submit date:2611230412 done date:2611230413 stat:DELIVRD err:000 text:Your code"[..]
            );
            assert_eq!(
                out.tlvs.receipted_message_id(),
                Some(&b"00000A1B2C3D4E5F"[..])
            );
            let tags: Vec<_> = out.tlvs.iter().map(|t| t.tag).collect();
            let before: Vec<_> = d.tlvs.iter().map(|t| t.tag).collect();
            assert_eq!(tags, before, "TLVs kept, in order");
            assert_eq!(out.tlvs.get(TlvTag(0x1401)), Some(&b"vendor"[..]));
            assert_eq!(out.tlvs.user_message_reference(), Some(7));
            assert_eq!(out.tlvs.message_state(), Some(MessageState::DELIVERED));
            assert_eq!(
                (out.source, out.dest, out.esm_class),
                (d.source.clone(), d.dest.clone(), d.esm_class)
            );
        }
    }

    #[test]
    fn a_text_without_an_id_is_passed_on_and_only_the_tlv_changes() {
        let d = carrier_receipt(b"stat:DELIVRD err:000", Some(b"77"), false);
        let out = rewrite(&d, b"99");
        assert_eq!(&out.short_message[..], b"stat:DELIVRD err:000");
        assert_eq!(out.tlvs.receipted_message_id(), Some(&b"99"[..]));
    }
}
