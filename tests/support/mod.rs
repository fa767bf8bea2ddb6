//! Shared by the interop tests: the known-answer vectors of `smpp-pdu` as frames.
#![allow(dead_code, clippy::unwrap_used)]

use bytes::Bytes;

/// Every vector file: (name, frame).
pub(crate) fn vectors() -> Vec<(String, Bytes)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/smpp-pdu/tests/vectors");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hex"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let hex: String = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .concat()
                .split_whitespace()
                .collect();
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, Bytes::from(hex_decode(&hex)))
        })
        .collect();
    out.sort();
    out
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
