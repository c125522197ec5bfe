//! Frame encoding and decoding (see the crate docs for the byte layout).

use std::io::{self, Cursor};

use crate::Record;

/// Magic bytes that start every frame.
pub(crate) const MAGIC: [u8; 4] = *b"AXF1";
/// Bytes before the compressed body: magic, three u32 fields, header CRC.
pub(crate) const HEADER_LEN: usize = 20;
/// Bytes after the compressed body: its CRC.
pub(crate) const TRAILER_LEN: usize = 4;
/// Fixed per-frame overhead.
pub(crate) const FRAME_OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// Bytes before each record's payload in a body: i64 time, u32 length.
pub(crate) const RECORD_HEADER_LEN: usize = 12;

/// An append starts a new frame rather than grow a body past this many bytes; it keeps
/// frames small enough to decode with bounded memory and to checkpoint often.
pub const FRAME_TARGET_BYTES: usize = 4 << 20;
/// Largest payload one record may have.
pub const MAX_RECORD_BYTES: usize = 256 << 20;
/// Largest body a valid frame can have: a target-sized body or one maximal record.
pub(crate) const MAX_BODY_BYTES: usize = MAX_RECORD_BYTES + RECORD_HEADER_LEN;

/// The decoded, checksum-verified fixed header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub count: u32,
    pub body_len: u32,
    pub compressed_len: u32,
}

impl FrameHeader {
    /// Total bytes of the frame on disk.
    pub fn frame_len(&self) -> u64 {
        FRAME_OVERHEAD as u64 + u64::from(self.compressed_len)
    }
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(a)
}

/// Checks magic, header CRC and field sanity of a 20-byte header.
pub(crate) fn parse_header(h: &[u8; HEADER_LEN]) -> Result<FrameHeader, String> {
    if h[0..4] != MAGIC {
        return Err(format!("bad magic {:02x?}", &h[0..4]));
    }
    let stored = le_u32(h, 16);
    let actual = crc32fast::hash(&h[0..16]);
    if stored != actual {
        return Err(format!(
            "header checksum mismatch (stored {stored:08x}, computed {actual:08x})"
        ));
    }
    let header = FrameHeader {
        count: le_u32(h, 4),
        body_len: le_u32(h, 8),
        compressed_len: le_u32(h, 12),
    };
    if header.count == 0 {
        return Err("frame has zero records".into());
    }
    let body_len = header.body_len as usize;
    if body_len > MAX_BODY_BYTES {
        return Err(format!("body length {body_len} exceeds {MAX_BODY_BYTES}"));
    }
    if (header.count as usize).saturating_mul(RECORD_HEADER_LEN) > body_len {
        return Err(format!(
            "{} records cannot fit in a {body_len}-byte body",
            header.count
        ));
    }
    if header.compressed_len as usize > zstd::zstd_safe::compress_bound(MAX_BODY_BYTES) {
        return Err(format!(
            "compressed length {} is impossible",
            header.compressed_len
        ));
    }
    Ok(header)
}

/// Checks a compressed body (with its trailing CRC) against the CRC.
pub(crate) fn check_body_crc(compressed_with_crc: &[u8]) -> Result<(), String> {
    let n = compressed_with_crc.len() - TRAILER_LEN;
    let stored = le_u32(compressed_with_crc, n);
    let actual = crc32fast::hash(&compressed_with_crc[..n]);
    if stored != actual {
        return Err(format!(
            "body checksum mismatch (stored {stored:08x}, computed {actual:08x})"
        ));
    }
    Ok(())
}

/// Whether a complete, valid frame starts at `buf[0]` (used to tell a torn tail from
/// corruption followed by good data).
pub(crate) fn valid_frame_at(buf: &[u8]) -> bool {
    let Some(h) = buf.get(..HEADER_LEN) else {
        return false;
    };
    let mut hh = [0u8; HEADER_LEN];
    hh.copy_from_slice(h);
    let Ok(header) = parse_header(&hh) else {
        return false;
    };
    let Ok(len) = usize::try_from(header.frame_len()) else {
        return false;
    };
    match buf.get(HEADER_LEN..len) {
        Some(body) => check_body_crc(body).is_ok(),
        None => false,
    }
}

/// Walks a decompressed body and checks it holds exactly `count` well-formed records.
pub(crate) fn check_body(body: &[u8], count: u32) -> Result<(), String> {
    let mut at = 0usize;
    for i in 0..count {
        if body.len() - at < RECORD_HEADER_LEN {
            return Err(format!("record {i} header runs past the body"));
        }
        let len = le_u32(body, at + 8) as usize;
        at += RECORD_HEADER_LEN;
        if body.len() - at < len {
            return Err(format!(
                "record {i} payload of {len} bytes runs past the body"
            ));
        }
        at += len;
    }
    if at != body.len() {
        return Err(format!(
            "{} bytes left over after {count} records",
            body.len() - at
        ));
    }
    Ok(())
}

/// Reads the record at `*at` of a body already validated by [`check_body`], and advances.
pub(crate) fn read_record(body: &[u8], at: &mut usize) -> Record {
    let received_at_ms = le_i64(body, *at);
    let len = le_u32(body, *at + 8) as usize;
    let start = *at + RECORD_HEADER_LEN;
    *at = start + len;
    Record {
        received_at_ms,
        payload: body[start..start + len].to_vec(),
    }
}

/// Turns records into frames; one per appending thread at a time, pooled for reuse.
pub(crate) struct Encoder {
    body: Vec<u8>,
    cctx: zstd::bulk::Compressor<'static>,
}

/// What [`Encoder::encode`] produced.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Encoded {
    pub frames: u64,
}

impl Encoder {
    pub fn new(level: i32) -> io::Result<Self> {
        let mut cctx = zstd::bulk::Compressor::new(level)?;
        // Our CRC covers the bytes; zstd's content checksum would be redundant work.
        cctx.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(false))?;
        Ok(Encoder {
            body: Vec::new(),
            cctx,
        })
    }

    /// Appends the frames for `records` to `out`. Payload sizes must already be checked
    /// against [`MAX_RECORD_BYTES`].
    pub fn encode(&mut self, records: &[Record], out: &mut Vec<u8>) -> io::Result<Encoded> {
        let mut encoded = Encoded::default();
        let mut count = 0u32;
        self.body.clear();
        for r in records {
            let need = RECORD_HEADER_LEN + r.payload.len();
            if count > 0 && self.body.len() + need > FRAME_TARGET_BYTES {
                self.emit(count, out)?;
                encoded.frames += 1;
                count = 0;
                self.body.clear();
            }
            self.body.extend_from_slice(&r.received_at_ms.to_le_bytes());
            self.body
                .extend_from_slice(&(r.payload.len() as u32).to_le_bytes());
            self.body.extend_from_slice(&r.payload);
            count += 1;
        }
        if count > 0 {
            self.emit(count, out)?;
            encoded.frames += 1;
        }
        // Don't let one huge append pin a huge buffer in the pool forever.
        if self.body.capacity() > 2 * FRAME_TARGET_BYTES {
            self.body = Vec::new();
        }
        Ok(encoded)
    }

    fn emit(&mut self, count: u32, out: &mut Vec<u8>) -> io::Result<()> {
        let start = out.len();
        out.reserve(FRAME_OVERHEAD + zstd::zstd_safe::compress_bound(self.body.len()));
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        let body_start = out.len();
        let mut cursor = Cursor::new(&mut *out);
        cursor.set_position(body_start as u64);
        let compressed_len = self.cctx.compress_to_buffer(&self.body[..], &mut cursor)?;
        debug_assert_eq!(out.len(), body_start + compressed_len);
        let body_crc = crc32fast::hash(&out[body_start..]);
        out.extend_from_slice(&body_crc.to_le_bytes());

        let header = &mut out[start..body_start];
        header[0..4].copy_from_slice(&MAGIC);
        header[4..8].copy_from_slice(&count.to_le_bytes());
        header[8..12].copy_from_slice(&(self.body.len() as u32).to_le_bytes());
        header[12..16].copy_from_slice(&(compressed_len as u32).to_le_bytes());
        let header_crc = crc32fast::hash(&header[0..16]);
        header[16..20].copy_from_slice(&header_crc.to_le_bytes());
        Ok(())
    }
}

/// Decompresses frame bodies; one per reader, buffers reused across frames.
pub(crate) struct Decoder {
    dctx: zstd::bulk::Decompressor<'static>,
}

impl Decoder {
    pub fn new() -> io::Result<Self> {
        Ok(Decoder {
            dctx: zstd::bulk::Decompressor::new()?,
        })
    }

    /// Decompresses `compressed` into `body` (replacing its contents) and validates the
    /// records against the header.
    pub fn decode(
        &mut self,
        header: &FrameHeader,
        compressed: &[u8],
        body: &mut Vec<u8>,
    ) -> Result<(), String> {
        let want = header.body_len as usize;
        body.clear();
        body.reserve(want);
        let got = self
            .dctx
            .decompress_to_buffer(compressed, body)
            .map_err(|e| format!("zstd decompression failed: {e}"))?;
        if got != want {
            return Err(format!(
                "body decompressed to {got} bytes, header says {want}"
            ));
        }
        check_body(body, header.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: i64, n: usize) -> Record {
        Record {
            received_at_ms: t,
            payload: (0..n).map(|i| (i % 251) as u8).collect(),
        }
    }

    fn decode_all(buf: &[u8]) -> Vec<Vec<Record>> {
        let mut dec = Decoder::new().unwrap();
        let mut at = 0;
        let mut frames = Vec::new();
        let mut body = Vec::new();
        while at < buf.len() {
            let mut h = [0u8; HEADER_LEN];
            h.copy_from_slice(&buf[at..at + HEADER_LEN]);
            let header = parse_header(&h).unwrap();
            let end = at + header.frame_len() as usize;
            assert!(valid_frame_at(&buf[at..]));
            check_body_crc(&buf[at + HEADER_LEN..end]).unwrap();
            dec.decode(&header, &buf[at + HEADER_LEN..end - TRAILER_LEN], &mut body)
                .unwrap();
            let mut p = 0;
            frames.push(
                (0..header.count)
                    .map(|_| read_record(&body, &mut p))
                    .collect(),
            );
            at = end;
        }
        frames
    }

    #[test]
    fn frames_round_trip_and_split_at_target() {
        let mut enc = Encoder::new(1).unwrap();
        let records: Vec<Record> = (0..3000).map(|i| rec(i, 3000)).collect();
        let mut out = Vec::new();
        let e = enc.encode(&records, &mut out).unwrap();
        let frames = decode_all(&out);
        assert_eq!(frames.len() as u64, e.frames);
        assert!(frames.len() >= 3, "9 MB of records must split");
        let flat: Vec<Record> = frames.into_iter().flatten().collect();
        assert_eq!(flat, records);
    }

    #[test]
    fn header_checks_catch_flips() {
        let mut enc = Encoder::new(1).unwrap();
        let mut out = Vec::new();
        enc.encode(&[rec(1, 10)], &mut out).unwrap();
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x01;
            assert!(!valid_frame_at(&bad), "flip at byte {i} went unnoticed");
        }
        assert!(valid_frame_at(&out));
        assert!(!valid_frame_at(&out[..out.len() - 1]));
    }
}
