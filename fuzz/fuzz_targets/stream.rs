//! Feeds a byte stream to the framer in chunks whose sizes come from the input, as reads off a
//! socket would arrive: every frame must come out the same however the stream was split.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smpp_pdu::{frame::split_frame, DecodeOptions, Pdu};

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (stream, cuts) = input;
    let whole = frames(&stream, &[usize::MAX]);
    let chunked = frames(&stream, &cuts.iter().map(|&c| usize::from(c) + 1).collect::<Vec<_>>());
    assert_eq!(whole, chunked);
});

/// Frames (or the fatal error) produced when `stream` arrives in chunks of the given sizes.
fn frames(stream: &[u8], chunks: &[usize]) -> Vec<Result<Vec<u8>, smpp_pdu::Error>> {
    let mut out = Vec::new();
    let mut buf = BytesMut::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&usize::MAX)).min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match split_frame(&mut buf, 4096) {
                Ok(Some(frame)) => {
                    let _ = Pdu::decode(frame.clone(), &DecodeOptions::LENIENT);
                    out.push(Ok(frame.to_vec()));
                }
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}
