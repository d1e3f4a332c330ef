//! PostgreSQL's binary COPY format for `(series_id BIGINT, ts TIMESTAMPTZ, value FLOAT8)` rows:
//! the fastest way in and out of the samples table.

use bytes::{Buf, BufMut, BytesMut};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Encodes sample rows for `COPY … FROM STDIN (FORMAT binary)`.
pub struct SampleRowEncoder {
    buffer: BytesMut,
}

impl SampleRowEncoder {
    pub fn new(rows: usize) -> Self {
        let mut buffer = BytesMut::with_capacity(19 + rows * 38 + 2);
        buffer.put_slice(SIGNATURE);
        buffer.put_i32(0); // flags
        buffer.put_i32(0); // header extension length
        SampleRowEncoder { buffer }
    }

    pub fn push(&mut self, series_id: i64, timestamp_ms: i64, value: f64) {
        self.buffer.put_i16(3);
        self.buffer.put_i32(8);
        self.buffer.put_i64(series_id);
        self.buffer.put_i32(8);
        self.buffer
            .put_i64(timestamp_ms * 1000 - POSTGRES_EPOCH_MICROS);
        self.buffer.put_i32(8);
        // The bits as they are: a staleness marker must survive the round trip.
        self.buffer.put_u64(value.to_bits());
    }

    pub fn finish(mut self) -> BytesMut {
        self.buffer.put_i16(-1);
        self.buffer
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CopyDecodeError {
    #[error("the COPY data does not start with the binary signature")]
    BadSignature,
    #[error("the COPY data ends in the middle of a row")]
    Truncated,
    #[error("unexpected COPY row shape: {0}")]
    Shape(String),
}

/// Decodes `COPY (SELECT series_id, ts, value …) TO STDOUT (FORMAT binary)` output as it
/// streams in, chunk by chunk, without holding all of it.
pub struct SampleRowDecoder {
    pending: Vec<u8>,
    header_done: bool,
    finished: bool,
}

impl Default for SampleRowDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SampleRowDecoder {
    pub fn new() -> Self {
        SampleRowDecoder {
            pending: Vec::new(),
            header_done: false,
            finished: false,
        }
    }

    /// Feeds one chunk, calling `row` for every complete row it completes; answers how many.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut row: impl FnMut(i64, i64, f64),
    ) -> Result<usize, CopyDecodeError> {
        self.pending.extend_from_slice(chunk);
        let mut rows = 0;
        let mut data = self.pending.as_slice();
        if !self.header_done {
            if data.len() < 19 {
                return Ok(0);
            }
            if &data[..11] != SIGNATURE {
                return Err(CopyDecodeError::BadSignature);
            }
            let extension = i32::from_be_bytes(data[15..19].try_into().expect("4 bytes"));
            if extension < 0 {
                return Err(CopyDecodeError::Truncated);
            }
            if data.len() < 19 + extension as usize {
                return Ok(0);
            }
            data = &data[19 + extension as usize..];
            self.header_done = true;
        }
        while data.len() >= 2 && !self.finished {
            let fields = i16::from_be_bytes([data[0], data[1]]);
            if fields == -1 {
                self.finished = true;
                data = &data[2..];
                break;
            }
            if fields != 3 {
                return Err(CopyDecodeError::Shape(format!("{fields} fields")));
            }
            if data.len() < 38 {
                break;
            }
            let mut values = [0u64; 3];
            for (i, value) in values.iter_mut().enumerate() {
                let at = 2 + i * 12;
                let length = i32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes"));
                if length != 8 {
                    return Err(CopyDecodeError::Shape(format!("a field of {length} bytes")));
                }
                *value = u64::from_be_bytes(data[at + 4..at + 12].try_into().expect("8 bytes"));
            }
            row(
                values[0] as i64,
                (values[1] as i64 + POSTGRES_EPOCH_MICROS).div_euclid(1000),
                f64::from_bits(values[2]),
            );
            rows += 1;
            data = &data[38..];
        }
        let consumed = self.pending.len() - data.len();
        self.pending.drain(..consumed);
        Ok(rows)
    }

    /// Checks that the trailer arrived and nothing is left over.
    pub fn finish(self) -> Result<(), CopyDecodeError> {
        if self.finished && self.pending.is_empty() {
            Ok(())
        } else {
            Err(CopyDecodeError::Truncated)
        }
    }
}

/// Decodes a whole COPY output held in memory (see [`SampleRowDecoder`]).
pub fn decode_sample_rows(
    mut data: &[u8],
    mut row: impl FnMut(i64, i64, f64),
) -> Result<(), CopyDecodeError> {
    if data.len() < 19 || &data[..11] != SIGNATURE {
        return Err(CopyDecodeError::BadSignature);
    }
    data.advance(11);
    let _flags = data.get_i32();
    let extension = data.get_i32();
    if extension < 0 || data.len() < extension as usize {
        return Err(CopyDecodeError::Truncated);
    }
    data.advance(extension as usize);
    loop {
        if data.len() < 2 {
            return Err(CopyDecodeError::Truncated);
        }
        let fields = data.get_i16();
        if fields == -1 {
            return Ok(());
        }
        if fields != 3 {
            return Err(CopyDecodeError::Shape(format!("{fields} fields")));
        }
        if data.len() < 36 {
            return Err(CopyDecodeError::Truncated);
        }
        let field = |data: &mut &[u8]| -> Result<u64, CopyDecodeError> {
            let length = data.get_i32();
            if length != 8 {
                return Err(CopyDecodeError::Shape(format!("a field of {length} bytes")));
            }
            Ok(data.get_u64())
        };
        let series_id = field(&mut data)? as i64;
        let micros = field(&mut data)? as i64;
        let value = f64::from_bits(field(&mut data)?);
        row(
            series_id,
            (micros + POSTGRES_EPOCH_MICROS).div_euclid(1000),
            value,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::model::{is_stale_nan, stale_nan};

    #[test]
    fn rows_survive_a_round_trip_including_the_staleness_marker() {
        let mut encoder = SampleRowEncoder::new(3);
        encoder.push(1, 1_700_000_000_123, 42.5);
        encoder.push(2, -5, f64::INFINITY);
        encoder.push(3, 0, stale_nan());
        let bytes = encoder.finish();
        let mut rows = Vec::new();
        decode_sample_rows(&bytes, |id, ts, v| rows.push((id, ts, v))).unwrap();
        assert_eq!(rows[0], (1, 1_700_000_000_123, 42.5));
        assert_eq!(rows[1], (2, -5, f64::INFINITY));
        assert_eq!((rows[2].0, rows[2].1), (3, 0));
        assert!(is_stale_nan(rows[2].2));
    }

    #[test]
    fn rows_split_across_chunks_decode_the_same() {
        let mut encoder = SampleRowEncoder::new(50);
        for i in 0..50 {
            encoder.push(i, i * 1000, i as f64 / 3.0);
        }
        let bytes = encoder.finish();
        let mut whole = Vec::new();
        decode_sample_rows(&bytes, |id, ts, v| whole.push((id, ts, v))).unwrap();
        for chunk_size in [1, 7, 38, 100] {
            let mut decoder = SampleRowDecoder::new();
            let mut streamed = Vec::new();
            for chunk in bytes.chunks(chunk_size) {
                decoder
                    .feed(chunk, |id, ts, v| streamed.push((id, ts, v)))
                    .unwrap();
            }
            decoder.finish().unwrap();
            assert_eq!(streamed, whole, "chunks of {chunk_size}");
        }
        let mut decoder = SampleRowDecoder::new();
        decoder
            .feed(&bytes[..bytes.len() - 1], |_, _, _| {})
            .unwrap();
        assert_eq!(decoder.finish(), Err(CopyDecodeError::Truncated));
    }

    #[test]
    fn truncated_and_foreign_data_is_refused() {
        let mut encoder = SampleRowEncoder::new(1);
        encoder.push(1, 1, 1.0);
        let bytes = encoder.finish();
        assert_eq!(
            decode_sample_rows(&bytes[..bytes.len() - 10], |_, _, _| {}),
            Err(CopyDecodeError::Truncated)
        );
        assert_eq!(
            decode_sample_rows(b"hello", |_, _, _| {}),
            Err(CopyDecodeError::BadSignature)
        );
    }
}
