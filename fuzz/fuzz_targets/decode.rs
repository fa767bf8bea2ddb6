//! Decodes arbitrary bytes as one frame, strictly and leniently. Whatever decodes must encode,
//! and its encoding must decode to a PDU that encodes to the same octets (round-trip stability).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smpp_pdu::{DecodeOptions, Pdu};

fuzz_target!(|data: &[u8]| {
    for opts in [DecodeOptions::STRICT, DecodeOptions::LENIENT] {
        let Ok(pdu) = Pdu::decode(data, &opts) else {
            continue;
        };
        let mut first = BytesMut::new();
        if pdu.encode(&mut first).is_err() {
            // Lenient decode may accept what cannot be re-encoded (e.g. nothing today); strict
            // decode never does.
            assert!(!opts.strict, "strictly decoded PDU failed to encode: {pdu:?}");
            continue;
        }
        let again = Pdu::decode(&first[..], &DecodeOptions::LENIENT).expect("our encoding decodes");
        let mut second = BytesMut::new();
        again.encode(&mut second).expect("re-encodes");
        assert_eq!(first, second, "encode is stable");
    }
});
