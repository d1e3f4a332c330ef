//! The identity of an alert's label set as Alertmanager's clients know it.

use std::collections::BTreeMap;

/// Alertmanager's (and Prometheus') label set fingerprint: FNV-1a 64 over the sorted names
/// and values, each followed by the byte 255, in hex — so clients see the same ids.
pub fn alertmanager_fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut hash = OFFSET;
    let mut add = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels {
        add(name.as_bytes());
        add(&[255]);
        add(value.as_bytes());
        add(&[255]);
    }
    format!("{hash:016x}")
}
