//! The simulator's one hash: splitmix64 steps folded over words, and
//! FNV-1a to turn a string into a word. Hand-written (no `rand`) so that a
//! seed gives the same numbers, tokens and rids on every machine and every
//! crate version. A leaf: it imports nothing.

/// One step of splitmix64: a fast, well-mixed 64-bit hash.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a sequence of words into one.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x005E_ED0F_5EED_u64, |h, p| splitmix64(h ^ p))
}

/// FNV-1a of a string: turns an appid into a number for `mix`.
pub(crate) fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable() {
        // Pinned so that a change of the hash (and so of every served number)
        // is a deliberate decision.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }
}
