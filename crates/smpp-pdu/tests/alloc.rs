//! Decoding copies nothing: a counting global allocator watches decode of the hot-path PDUs
//! (submit_sm with a 160-character text and two TLVs, enquire_link) from a shared `Bytes` frame
//! and from a borrowed slice, and encode into a reused buffer. The one allocation allowed is
//! the box of a large body (a submit_sm's fields), which keeps `Body` small to move; the fields
//! themselves still share the frame.
#![allow(clippy::unwrap_used)]
// a failed unwrap is a failed test

// A global allocator is unsafe to implement; this one only forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use smpp_pdu::{Body, DecodeOptions, Pdu};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn submit_sm() -> Vec<u8> {
    let mut sm = smpp_pdu::SubmitSm::<&[u8]>::default();
    sm.source.addr = b"12345";
    sm.dest.addr = b"447700900123";
    let text = [b'a'; 160];
    sm.short_message = &text;
    let mut tlvs = smpp_pdu::TlvsBuilder::new();
    tlvs.u16(smpp_pdu::TlvTag::USER_MESSAGE_REFERENCE, 7)
        .u16(smpp_pdu::TlvTag::SOURCE_PORT, 1234);
    let tlvs = tlvs.build();
    sm.tlvs = smpp_pdu::Tlvs::parse(tlvs.as_bytes(), true).expect("valid");
    let mut out = BytesMut::new();
    Pdu::new(1, Body::SubmitSm(Box::new(sm)))
        .encode(&mut out)
        .expect("encodes");
    out.to_vec()
}

/// A frame as the framer hands it over: split off a shared read buffer.
fn framed(wire: &[u8]) -> Bytes {
    let mut read_buf = BytesMut::with_capacity(4096);
    read_buf.extend_from_slice(wire);
    read_buf.extend_from_slice(wire);
    let frame = smpp_pdu::frame::split_frame(&mut read_buf, 65536)
        .expect("valid")
        .expect("whole");
    drop(read_buf);
    frame
}

#[test]
fn decode_and_encode_allocate_nothing() {
    let wire = submit_sm();
    let enquire = [0u8, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1];
    // (frame, allocations per decode): the submit_sm's boxed body; nothing for enquire_link.
    for (wire, boxes) in [(&wire[..], 1), (&enquire[..], 0)] {
        let frame = framed(wire);
        let mut out = BytesMut::with_capacity(1024);
        // Warm up (thread-locals, lazy statics) outside the measured region.
        let pdu = Pdu::decode(frame.clone(), &DecodeOptions::STRICT).expect("decodes");
        pdu.encode(&mut out).expect("encodes");
        drop(pdu);

        let n = allocations_during(|| {
            for _ in 0..100 {
                let pdu = Pdu::decode(frame.clone(), &DecodeOptions::STRICT).expect("decodes");
                std::hint::black_box(&pdu);
            }
        });
        assert_eq!(
            n,
            100 * boxes,
            "Bytes decode allocated more than the body's box"
        );

        let n = allocations_during(|| {
            for _ in 0..100 {
                let pdu = Pdu::decode(&frame[..], &DecodeOptions::STRICT).expect("decodes");
                std::hint::black_box(&pdu);
            }
        });
        assert_eq!(
            n,
            100 * boxes,
            "borrowed decode allocated more than the body's box"
        );

        let pdu = Pdu::decode(&frame[..], &DecodeOptions::STRICT).expect("decodes");
        let n = allocations_during(|| {
            for _ in 0..100 {
                out.clear();
                pdu.encode(&mut out).expect("encodes");
            }
        });
        assert_eq!(n, 0, "encode into a reused buffer allocated");
        assert_eq!(&out[..], wire);
    }
}
