//! Hand-rolled output formatting: integers, fixed-point decimals, JSON strings, UUID-shaped ids
//! and RFC 3339 timestamps, appended straight to a byte buffer (no intermediate `String`s, no
//! floating-point formatting, so output is fast and byte-stable).

use crate::time::civil_from_days;

/// Appends the decimal form of `v`.
pub(crate) fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends `v` zero-padded to `width` digits.
pub(crate) fn push_padded(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    let mut v = v;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = tmp.len() - i;
    for _ in digits..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends a fixed-point number: `v / 10^decimals` with exactly `decimals` digits after the point.
pub(crate) fn push_fixed(buf: &mut Vec<u8>, v: i64, decimals: u32) {
    if v < 0 {
        buf.push(b'-');
    }
    let a = v.unsigned_abs();
    let scale = 10u64.pow(decimals);
    push_u64(buf, a / scale);
    if decimals > 0 {
        buf.push(b'.');
        push_padded(buf, a % scale, decimals as usize);
    }
}

/// Appends an amount in cents as a decimal number with two digits: `2499` → `24.99`.
pub(crate) fn push_cents(buf: &mut Vec<u8>, cents: u64) {
    push_u64(buf, cents / 100);
    buf.push(b'.');
    push_padded(buf, cents % 100, 2);
}

/// Appends an amount in millionths with trailing zeros trimmed: `3500` → `0.0035`.
pub(crate) fn push_micros(buf: &mut Vec<u8>, micros: u64) {
    push_u64(buf, micros / 1_000_000);
    let mut frac = micros % 1_000_000;
    if frac == 0 {
        return;
    }
    let mut width = 6;
    while frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    buf.push(b'.');
    push_padded(buf, frac, width);
}

/// Appends `s` as a JSON string literal (quotes included), escaping `"`, `\` and control
/// characters. Non-ASCII UTF-8 is copied as is.
pub(crate) fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    push_json_str_body(buf, s);
    buf.push(b'"');
}

/// Appends the escaped body of a JSON string literal (no quotes).
pub(crate) fn push_json_str_body(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                buf.extend_from_slice(&bytes[start..i]);
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[(b >> 4) as usize]);
                buf.push(HEX[(b & 0xf) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(esc);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// Appends 128 bits as a lowercase UUID-shaped string `8-4-4-4-12` (no quotes). The version
/// and variant nibbles are forced to look like a v4 UUID.
pub(crate) fn push_uuid(buf: &mut Vec<u8>, hi: u64, lo: u64) {
    let hi = (hi & !0xf000) | 0x4000;
    let lo = (lo & !(0xc << 60)) | (0x8 << 60);
    push_uuid_raw(buf, hi, lo, false);
}

/// Like [`push_uuid`] without forcing the version bits, optionally in upper case (Apple's IDFA
/// style).
pub(crate) fn push_uuid_raw(buf: &mut Vec<u8>, hi: u64, lo: u64, upper: bool) {
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let v = (u128::from(hi) << 64) | u128::from(lo);
    let mut out = [b'-'; 36];
    let mut nibble = 0u32;
    for (pos, slot) in out.iter_mut().enumerate() {
        if matches!(pos, 8 | 13 | 18 | 23) {
            continue;
        }
        *slot = hex[((v >> (124 - 4 * nibble)) & 0xf) as usize];
        nibble += 1;
    }
    buf.extend_from_slice(&out);
}

/// Appends an RFC 3339 UTC timestamp with milliseconds, e.g. `2026-11-27T18:03:12.345Z`
/// (no quotes), for `ms` milliseconds since the Unix epoch.
#[cfg(test)]
pub(crate) fn push_timestamp(buf: &mut Vec<u8>, ms: i64) {
    TimestampCache::default().push(buf, ms);
}

/// RFC 3339 formatting that remembers the date part of the last day it formatted.
#[derive(Default)]
pub(crate) struct TimestampCache {
    day: Option<i64>,
    date: [u8; 11],
}

impl TimestampCache {
    /// Appends `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub(crate) fn push(&mut self, buf: &mut Vec<u8>, ms: i64) {
        let day = ms.div_euclid(86_400_000);
        if self.day != Some(day) {
            let (y, m, d) = civil_from_days(day);
            let mut tmp = Vec::with_capacity(11);
            push_date(&mut tmp, y, m, d);
            tmp.push(b'T');
            if tmp.len() == 11 {
                self.date.copy_from_slice(&tmp);
                self.day = Some(day);
            } else {
                // Years beyond four digits: no caching.
                buf.extend_from_slice(&tmp);
                self.push_time(buf, ms);
                return;
            }
        }
        buf.extend_from_slice(&self.date);
        self.push_time(buf, ms);
    }

    fn push_time(&self, buf: &mut Vec<u8>, ms: i64) {
        let rem = ms.rem_euclid(86_400_000) as u32;
        let secs = rem / 1000;
        let (h, m, s, milli) = (secs / 3600, (secs / 60) % 60, secs % 60, rem % 1000);
        let d = |v: u32| b'0' + v as u8;
        buf.extend_from_slice(&[
            d(h / 10),
            d(h % 10),
            b':',
            d(m / 10),
            d(m % 10),
            b':',
            d(s / 10),
            d(s % 10),
            b'.',
            d(milli / 100),
            d(milli / 10 % 10),
            d(milli % 10),
            b'Z',
        ]);
    }
}

/// Appends `YYYY-MM-DD`.
pub(crate) fn push_date(buf: &mut Vec<u8>, y: i32, m: u32, d: u32) {
    push_padded(buf, y.max(0) as u64, 4);
    buf.push(b'-');
    push_padded(buf, m as u64, 2);
    buf.push(b'-');
    push_padded(buf, d as u64, 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn numbers() {
        assert_eq!(s(|b| push_u64(b, 0)), "0");
        assert_eq!(s(|b| push_u64(b, u64::MAX)), u64::MAX.to_string());
        assert_eq!(s(|b| push_padded(b, 7, 3)), "007");
        assert_eq!(s(|b| push_padded(b, 1234, 2)), "1234");
        assert_eq!(s(|b| push_fixed(b, -485_123, 4)), "-48.5123");
        assert_eq!(s(|b| push_fixed(b, 5, 4)), "0.0005");
        assert_eq!(s(|b| push_cents(b, 2499)), "24.99");
        assert_eq!(s(|b| push_cents(b, 5)), "0.05");
        assert_eq!(s(|b| push_micros(b, 3500)), "0.0035");
        assert_eq!(s(|b| push_micros(b, 2_000_000)), "2");
        assert_eq!(s(|b| push_micros(b, 1_250_000)), "1.25");
    }

    #[test]
    fn json_strings_round_trip() {
        for input in [
            "plain",
            "a\"b\\c",
            "tab\there\nnew",
            "\u{1}\u{1f}",
            "Zoë 陈 > x",
        ] {
            let out = s(|b| push_json_str(b, input));
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, input);
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(s(|b| push_timestamp(b, 0)), "1970-01-01T00:00:00.000Z");
        let ms = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_milli_opt(18, 3, 12, 345)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        assert_eq!(s(|b| push_timestamp(b, ms)), "2026-11-27T18:03:12.345Z");
        let mut cache = TimestampCache::default();
        let mut b = Vec::new();
        cache.push(&mut b, ms);
        cache.push(&mut b, ms + 1);
        cache.push(&mut b, ms + 86_400_000);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "2026-11-27T18:03:12.345Z2026-11-27T18:03:12.346Z2026-11-28T18:03:12.345Z"
        );
    }

    #[test]
    fn uuids() {
        let u = s(|b| push_uuid(b, u64::MAX, 0));
        assert_eq!(u.len(), 36);
        assert_eq!(
            s(|b| push_uuid_raw(b, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, false)),
            "01234567-89ab-cdef-fedc-ba9876543210"
        );
        assert_eq!(&u[14..15], "4");
        assert_eq!(&u[19..20], "8");
    }
}
