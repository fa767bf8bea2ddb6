//! Delivery receipts: the `message_state` values and the receipt text of SMPP 3.4 Appendix B,
//! `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
//! err:E text:...`.
//!
//! Carriers bend that form in many ways — key case, `submit_date`, 12-digit dates, missing or
//! extra fields, `stat:DELIVERED` — so the parser finds `key:` tokens wherever they start a word
//! and never reinterprets a value: ids stay exactly as given (hex or decimal, leading zeros
//! kept), because a receipt is matched by comparing ids byte for byte. It borrows from the
//! input and allocates nothing. [`rewrite_id`] swaps only the id, for a router that hands the
//! receipt on with its own message id.

use std::fmt;

use bytes::BufMut;

use crate::Error;

/// The SMPP `message_state` of a message (receipts, query_sm_resp).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MessageState(pub u8);

macro_rules! states {
    ($($name:ident = $v:expr, $stat:literal;)*) => {
        impl MessageState {
            $(
                #[doc = concat!("`", stringify!($name), "` (receipt text `", $stat, "`)")]
                pub const $name: MessageState = MessageState($v);
            )*

            /// The abbreviation receipts carry in `stat:` (`DELIVRD`), or `None` when unknown.
            pub const fn stat_text(self) -> Option<&'static str> {
                match self.0 {
                    $($v => Some($stat),)*
                    _ => None,
                }
            }
        }
    };
}

states! {
    SCHEDULED = 0, "SCHEDULED";
    ENROUTE = 1, "ENROUTE";
    DELIVERED = 2, "DELIVRD";
    EXPIRED = 3, "EXPIRED";
    DELETED = 4, "DELETED";
    UNDELIVERABLE = 5, "UNDELIV";
    ACCEPTED = 6, "ACCEPTD";
    UNKNOWN = 7, "UNKNOWN";
    REJECTED = 8, "REJECTD";
    SKIPPED = 9, "SKIPPED";
}

impl MessageState {
    /// True for states after which nothing more will happen to the message.
    pub const fn is_final(self) -> bool {
        matches!(self.0, 2..=5 | 7..=9)
    }

    /// The state named by a receipt's `stat:` value, in any case, accepting the spellings
    /// carriers use (`DELIVRD` and `DELIVERED`, `UNDELIV` and `UNDELIVERABLE`, …).
    pub fn from_stat(stat: &[u8]) -> Option<MessageState> {
        const NAMES: [(&[u8], MessageState); 17] = [
            (b"DELIVRD", MessageState::DELIVERED),
            (b"DELIVERED", MessageState::DELIVERED),
            (b"EXPIRED", MessageState::EXPIRED),
            (b"DELETED", MessageState::DELETED),
            (b"UNDELIV", MessageState::UNDELIVERABLE),
            (b"UNDELIVERABLE", MessageState::UNDELIVERABLE),
            (b"UNDELIVERED", MessageState::UNDELIVERABLE),
            (b"ACCEPTD", MessageState::ACCEPTED),
            (b"ACCEPTED", MessageState::ACCEPTED),
            (b"UNKNOWN", MessageState::UNKNOWN),
            (b"REJECTD", MessageState::REJECTED),
            (b"REJECTED", MessageState::REJECTED),
            (b"ENROUTE", MessageState::ENROUTE),
            (b"SKIPPED", MessageState::SKIPPED),
            (b"SCHEDULED", MessageState::SCHEDULED),
            (b"FAILED", MessageState::UNDELIVERABLE),
            (b"UNDELIVRD", MessageState::UNDELIVERABLE),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(stat))
            .map(|&(_, s)| s)
    }
}

impl fmt::Debug for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stat_text() {
            Some(s) => f.write_str(s),
            None => write!(f, "MessageState({})", self.0),
        }
    }
}

/// The fields of a receipt's text, each borrowed from it and absent when the carrier left it
/// out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Receipt<'a> {
    /// The SMSC's message id, exactly as written.
    pub id: Option<&'a [u8]>,
    /// Messages submitted (`sub:`).
    pub sub: Option<&'a [u8]>,
    /// Messages delivered (`dlvrd:`).
    pub dlvrd: Option<&'a [u8]>,
    /// `submit date:` as written.
    pub submit_date: Option<&'a [u8]>,
    /// `done date:` as written.
    pub done_date: Option<&'a [u8]>,
    /// `stat:` as written; see [`Receipt::state`].
    pub stat: Option<&'a [u8]>,
    /// `err:` as written.
    pub err: Option<&'a [u8]>,
    /// `text:` — everything after it, to the end.
    pub text: Option<&'a [u8]>,
}

/// Which field a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Sub,
    Dlvrd,
    SubmitDate,
    DoneDate,
    Stat,
    Err,
    Text,
    Other,
}

fn key_of(word: &[u8]) -> Key {
    // By length first: most words are ruled out without comparing a byte.
    let is = |k: &[u8]| word.eq_ignore_ascii_case(k);
    match word.len() {
        2 if is(b"id") => Key::Id,
        3 if is(b"sub") => Key::Sub,
        3 if is(b"err") => Key::Err,
        4 if is(b"stat") => Key::Stat,
        4 if is(b"text") => Key::Text,
        5 if is(b"dlvrd") => Key::Dlvrd,
        8 if is(b"donedate") => Key::DoneDate,
        9 if is(b"done date") || is(b"done_date") => Key::DoneDate,
        10 if is(b"submitdate") => Key::SubmitDate,
        11 if is(b"submit date") || is(b"submit_date") => Key::SubmitDate,
        _ => Key::Other,
    }
}

/// One `key:value` field of receipt text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The key as written (`submit date`, `ID`, …).
    pub key: &'a [u8],
    /// The value, trimmed of surrounding blanks.
    pub value: &'a [u8],
    /// Where the value starts and ends in the text.
    pub span: (usize, usize),
}

/// Iterates the `key:value` fields of receipt text, extra fields included. `text:` swallows
/// the rest of the input.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    input: &'a [u8],
    /// The next key (start, end, value start), found while ending the previous field's value:
    /// each key is looked for once.
    next: Option<(usize, usize, usize)>,
}

/// The fields of receipt text in order.
pub fn fields(input: &[u8]) -> Fields<'_> {
    Fields {
        input,
        next: next_key(input, 0),
    }
}

/// Finds the next `key:` that starts a word at or after `from`: returns (key start, key end,
/// value start).
fn next_key(input: &[u8], from: usize) -> Option<(usize, usize, usize)> {
    let mut i = from;
    while i < input.len() {
        let starts_word = i == 0 || input[i - 1].is_ascii_whitespace();
        if starts_word && input[i].is_ascii_alphabetic() {
            let mut j = i;
            while j < input.len() && (input[j].is_ascii_alphabetic() || input[j] == b'_') {
                j += 1;
            }
            // "submit date" / "done date": one space inside the key.
            if j + 5 < input.len()
                && input[j] == b' '
                && input[j + 1..j + 5].eq_ignore_ascii_case(b"date")
                && matches!(key_of(&input[i..j]), Key::Other)
                && (input[i..j].eq_ignore_ascii_case(b"submit")
                    || input[i..j].eq_ignore_ascii_case(b"done"))
            {
                j += 5;
            }
            if input.get(j) == Some(&b':') {
                return Some((i, j, j + 1));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

fn trim(input: &[u8], mut a: usize, mut b: usize) -> (usize, usize) {
    let blank = |c: u8| c.is_ascii_whitespace() || c == 0;
    while a < b && blank(input[a]) {
        a += 1;
    }
    while b > a && blank(input[b - 1]) {
        b -= 1;
    }
    (a, b)
}

impl<'a> Fields<'a> {
    /// The next field, and which key it has.
    fn next_keyed(&mut self) -> Option<(Key, Field<'a>)> {
        let (k0, k1, v0) = self.next.take()?;
        let key = &self.input[k0..k1];
        let kind = key_of(key);
        let (a, b) = if kind == Key::Text {
            // Keep the text's own spacing; drop only line ends and NUL padding at the end.
            let mut b = self.input.len();
            while b > v0 && matches!(self.input[b - 1], b'\r' | b'\n' | 0) {
                b -= 1;
            }
            (v0, b)
        } else {
            self.next = next_key(self.input, v0);
            let end = self.next.map_or(self.input.len(), |(next, _, _)| next);
            trim(self.input, v0, end)
        };
        let field = Field {
            key,
            value: &self.input[a..b],
            span: (a, b),
        };
        Some((kind, field))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        self.next_keyed().map(|(_, field)| field)
    }
}

impl<'a> Receipt<'a> {
    /// Reads receipt text.
    ///
    /// # Errors
    /// [`Error::ReceiptMissingId`] when there is no `id:` field.
    pub fn parse(input: &'a [u8]) -> Result<Receipt<'a>, Error> {
        let mut r = Receipt::default();
        let mut fields = fields(input);
        while let Some((key, f)) = fields.next_keyed() {
            let slot = match key {
                Key::Id => &mut r.id,
                Key::Sub => &mut r.sub,
                Key::Dlvrd => &mut r.dlvrd,
                Key::SubmitDate => &mut r.submit_date,
                Key::DoneDate => &mut r.done_date,
                Key::Stat => &mut r.stat,
                Key::Err => &mut r.err,
                Key::Text => &mut r.text,
                Key::Other => continue,
            };
            slot.get_or_insert(f.value);
        }
        if r.id.is_none_or(<[u8]>::is_empty) {
            return Err(Error::ReceiptMissingId);
        }
        Ok(r)
    }

    /// The final state named by `stat:`, if it names one.
    pub fn state(&self) -> Option<MessageState> {
        self.stat.and_then(MessageState::from_stat)
    }

    /// `submit date:` read as a date.
    pub fn submit_date(&self) -> Option<ReceiptDate> {
        self.submit_date.and_then(ReceiptDate::parse)
    }

    /// `done date:` read as a date.
    pub fn done_date(&self) -> Option<ReceiptDate> {
        self.done_date.and_then(ReceiptDate::parse)
    }
}

/// A receipt date: `YYMMDDhhmm`, `YYMMDDhhmmss` or `YYYYMMDDhhmmss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReceiptDate {
    /// Full year (two-digit years are 2000–2099).
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59, when given.
    pub second: Option<u8>,
}

impl ReceiptDate {
    /// Reads a date of 10, 12 or 14 digits; `None` when malformed or out of range.
    pub fn parse(s: &[u8]) -> Option<ReceiptDate> {
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = |i: usize| (s[i] - b'0') * 10 + (s[i + 1] - b'0');
        let (year, rest) = match s.len() {
            10 | 12 => (2000 + u16::from(n(0)), &s[2..]),
            14 => (u16::from(n(0)) * 100 + u16::from(n(2)), &s[4..]),
            _ => return None,
        };
        let m = |i: usize| (rest[i] - b'0') * 10 + (rest[i + 1] - b'0');
        let d = ReceiptDate {
            year,
            month: m(0),
            day: m(2),
            hour: m(4),
            minute: m(6),
            second: (rest.len() == 10).then(|| m(8)),
        };
        let ok = (1..=12).contains(&d.month)
            && (1..=31).contains(&d.day)
            && d.hour < 24
            && d.minute < 60
            && d.second.is_none_or(|s| s < 60);
        ok.then_some(d)
    }
}

/// What goes into a receipt the SMSC (or simulator) writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptFields<'a> {
    /// The message id.
    pub id: &'a [u8],
    /// Submitted count (usually 1).
    pub sub: u16,
    /// Delivered count.
    pub dlvrd: u16,
    /// `YYMMDDhhmm`.
    pub submit_date: &'a [u8],
    /// `YYMMDDhhmm`.
    pub done_date: &'a [u8],
    /// The final state.
    pub state: MessageState,
    /// Network error code.
    pub err: u16,
    /// The first characters of the message (at most 20 are written).
    pub text: &'a [u8],
}

/// Writes receipt text in the standard order and widths.
pub fn format(f: &ReceiptFields<'_>, out: &mut impl BufMut) {
    let three = |out: &mut dyn BufMut, v: u16| {
        let v = v.min(999);
        out.put_slice(&[
            b'0' + (v / 100) as u8,
            b'0' + (v / 10 % 10) as u8,
            b'0' + (v % 10) as u8,
        ]);
    };
    out.put_slice(b"id:");
    out.put_slice(f.id);
    out.put_slice(b" sub:");
    three(out, f.sub);
    out.put_slice(b" dlvrd:");
    three(out, f.dlvrd);
    out.put_slice(b" submit date:");
    out.put_slice(f.submit_date);
    out.put_slice(b" done date:");
    out.put_slice(f.done_date);
    out.put_slice(b" stat:");
    out.put_slice(f.state.stat_text().unwrap_or("UNKNOWN").as_bytes());
    out.put_slice(b" err:");
    three(out, f.err);
    out.put_slice(b" text:");
    out.put_slice(&f.text[..f.text.len().min(20)]);
}

/// Writes `text` with the value of its `id:` field replaced by `new_id`, everything else byte
/// for byte.
///
/// # Errors
/// [`Error::ReceiptMissingId`] when there is no `id:` field.
pub fn rewrite_id(text: &[u8], new_id: &[u8], out: &mut impl BufMut) -> Result<(), Error> {
    let mut fields = fields(text);
    let f = std::iter::from_fn(|| fields.next_keyed())
        .find_map(|(key, f)| (key == Key::Id && !f.value.is_empty()).then_some(f))
        .ok_or(Error::ReceiptMissingId)?;
    out.put_slice(&text[..f.span.0]);
    out.put_slice(new_id);
    out.put_slice(&text[f.span.1..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STANDARD: &[u8] = b"id:0123456789 sub:001 dlvrd:001 submit date:2301011200 done date:2301011201 stat:DELIVRD err:000 text:Hello world";

    #[test]
    fn appendix_b_form() {
        let r = Receipt::parse(STANDARD).unwrap();
        assert_eq!(r.id, Some(&b"0123456789"[..]));
        assert_eq!(r.sub, Some(&b"001"[..]));
        assert_eq!(r.dlvrd, Some(&b"001"[..]));
        assert_eq!(r.submit_date, Some(&b"2301011200"[..]));
        assert_eq!(r.done_date, Some(&b"2301011201"[..]));
        assert_eq!(r.state(), Some(MessageState::DELIVERED));
        assert_eq!(r.err, Some(&b"000"[..]));
        assert_eq!(r.text, Some(&b"Hello world"[..]));
        let d = r.done_date().unwrap();
        assert_eq!(
            (d.year, d.month, d.day, d.hour, d.minute, d.second),
            (2023, 1, 1, 12, 1, None)
        );
    }

    #[test]
    fn what_carriers_send() {
        let cases: &[(&[u8], &[u8], Option<MessageState>)] = &[
            (b"ID:ABC sub:1 dlvrd:1 SUBMIT DATE:2301011200 DONE DATE:2301011201 STAT:delivrd ERR:0 TEXT:x", b"ABC", Some(MessageState::DELIVERED)),
            (b"Id:0A1B2C3D stat:DELIVERED", b"0A1B2C3D", Some(MessageState::DELIVERED)),
            (b"id:000123 submit_date:230101120000 done_date:230101120100 stat:UNDELIV err:034", b"000123", Some(MessageState::UNDELIVERABLE)),
            (b"id:  77  stat:REJECTD", b"77", Some(MessageState::REJECTED)),
            (b"id:5 sub:001 dlvrd:000 submitdate:2301011200 donedate:2301011201 stat:EXPIRED err:000 Text:stat:DELIVRD in text", b"5", Some(MessageState::EXPIRED)),
            (b"id:9 stat:ACCEPTD extra:field another:1 text:hi\r\n\0", b"9", Some(MessageState::ACCEPTED)),
            (b"stat:UNKNOWN id:z err:000", b"z", Some(MessageState::UNKNOWN)),
            (b"id:c0ffee stat:SOMETHING", b"c0ffee", None),
        ];
        for (text, id, state) in cases {
            let r = Receipt::parse(text)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(text)));
            assert_eq!(r.id, Some(*id), "{}", String::from_utf8_lossy(text));
            assert_eq!(r.state(), *state, "{}", String::from_utf8_lossy(text));
        }
        let r = Receipt::parse(cases[4].0).unwrap();
        assert_eq!(r.text, Some(&b"stat:DELIVRD in text"[..]));
        let r = Receipt::parse(cases[5].0).unwrap();
        assert_eq!(r.text, Some(&b"hi"[..]));
        assert_eq!(fields(cases[5].0).filter(|f| f.key == b"extra").count(), 1);
        let r = Receipt::parse(cases[2].0).unwrap();
        assert_eq!(r.submit_date().unwrap().second, Some(0));
        assert_eq!(
            ReceiptDate::parse(b"20230101120000").map(|d| d.year),
            Some(2023)
        );
        assert_eq!(ReceiptDate::parse(b"2313011200"), None);
        assert_eq!(
            Receipt::parse(b"sub:001 stat:DELIVRD"),
            Err(Error::ReceiptMissingId)
        );
        assert_eq!(Receipt::parse(b""), Err(Error::ReceiptMissingId));
    }

    #[test]
    fn rewrite_keeps_everything_else() {
        let mut out = Vec::new();
        rewrite_id(STANDARD, b"ROUTER-42", &mut out).unwrap();
        assert_eq!(
            out,
            &b"id:ROUTER-42 sub:001 dlvrd:001 submit date:2301011200 done date:2301011201 stat:DELIVRD err:000 text:Hello world"[..]
        );
        assert_eq!(
            rewrite_id(b"stat:DELIVRD", b"x", &mut out),
            Err(Error::ReceiptMissingId)
        );
    }

    #[test]
    fn states() {
        assert!(MessageState::DELIVERED.is_final());
        assert!(!MessageState::ENROUTE.is_final());
        assert!(!MessageState::ACCEPTED.is_final());
        assert_eq!(MessageState::UNDELIVERABLE.stat_text(), Some("UNDELIV"));
        assert_eq!(format!("{:?}", MessageState(42)), "MessageState(42)");
    }

    fn id() -> impl Strategy<Value = Vec<u8>> {
        "[0-9A-Fa-f]{1,40}".prop_map(String::into_bytes)
    }

    /// Receipt fields read the plain way, for the tests: each key found from the end of the
    /// previous field, each field ending where the next key starts.
    fn fields_model(input: &[u8]) -> Vec<Field<'_>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some((k0, k1, v0)) = next_key(input, pos) {
            let key = &input[k0..k1];
            let (a, b) = if key.eq_ignore_ascii_case(b"text") {
                let mut b = input.len();
                while b > v0 && matches!(input[b - 1], b'\r' | b'\n' | 0) {
                    b -= 1;
                }
                pos = input.len();
                (v0, b)
            } else {
                pos = next_key(input, v0).map_or(input.len(), |(next, _, _)| next);
                trim(input, v0, pos)
            };
            out.push(Field {
                key,
                value: &input[a..b],
                span: (a, b),
            });
        }
        out
    }

    proptest! {
        #[test]
        fn format_then_parse(id in id(), sub in 0u16..1000, dlvrd in 0u16..1000, err in 0u16..1000,
                             state in 1u8..10, text in "[ -~]{0,30}") {
            let mut out = Vec::new();
            let f = ReceiptFields { id: &id, sub, dlvrd, submit_date: b"2301011200", done_date: b"2301011201",
                                    state: MessageState(state), err, text: text.as_bytes() };
            format(&f, &mut out);
            let r = Receipt::parse(&out).unwrap();
            prop_assert_eq!(r.id, Some(&id[..]));
            let sub_text = format!("{sub:03}");
            prop_assert_eq!(r.sub, Some(sub_text.as_bytes()));
            prop_assert_eq!(r.state(), Some(MessageState(state)));
            let kept = text.trim_end_matches(['\r', '\n']);
            let kept = &kept.as_bytes()[..kept.len().min(20)];
            let expect = { let mut k = kept; while let [rest @ .., b'\r' | b'\n' | 0] = k { k = rest; } k };
            prop_assert_eq!(r.text, Some(expect));
        }

        #[test]
        fn rewrite_then_parse(id in id(), new in id(), text in "[ -~]{0,30}") {
            let mut original = Vec::new();
            let f = ReceiptFields { id: &id, sub: 1, dlvrd: 1, submit_date: b"2301011200", done_date: b"2301011201",
                                    state: MessageState::DELIVERED, err: 0, text: text.as_bytes() };
            format(&f, &mut original);
            let mut out = Vec::new();
            rewrite_id(&original, &new, &mut out).unwrap();
            let (a, b) = (Receipt::parse(&original).unwrap(), Receipt::parse(&out).unwrap());
            prop_assert_eq!(b.id, Some(&new[..]));
            prop_assert_eq!((a.sub, a.dlvrd, a.submit_date, a.done_date, a.stat, a.err, a.text),
                            (b.sub, b.dlvrd, b.submit_date, b.done_date, b.stat, b.err, b.text));
        }

        #[test]
        fn fields_of_receipt_like_text_keep_their_spans(
            tokens in proptest::collection::vec(proptest::sample::select(&[
                "id", "ID", "sub", "dlvrd", "submit", "done", "date", "Date", "_", "stat", "err",
                "text", ":", " ", "  ", "x", "07", "\r\n", "\0",
            ][..]), 0..40)
        ) {
            let data = tokens.concat().into_bytes();
            let mut end = 0;
            for f in fields(&data) {
                prop_assert_eq!(f.value, &data[f.span.0..f.span.1]);
                prop_assert!(f.span.0 >= end && f.span.0 <= f.span.1);
                end = f.span.1;
            }
            // The same fields as the plain reading: look for each key from the end of the last.
            prop_assert_eq!(fields(&data).collect::<Vec<_>>(), fields_model(&data));
            if let Ok(r) = Receipt::parse(&data) {
                let first = |k: &[u8]| fields_model(&data).into_iter().find(|f| f.key.eq_ignore_ascii_case(k)).map(|f| f.value);
                prop_assert_eq!(r.id, first(b"id"));
                prop_assert_eq!(r.stat, first(b"stat"));
            }
        }

        #[test]
        fn parsing_anything_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Receipt::parse(&data);
            // Every field's value is the text at its span, and the spans follow each other.
            let mut end = 0;
            for f in fields(&data) {
                prop_assert_eq!(f.value, &data[f.span.0..f.span.1]);
                prop_assert!(f.span.0 >= end && f.span.0 <= f.span.1);
                end = f.span.1;
            }
            let _ = ReceiptDate::parse(&data);
            let _ = rewrite_id(&data, b"x", &mut Vec::new());
        }
    }
}
