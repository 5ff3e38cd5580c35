//! Spreads apps over replicas: `--shard i --total-shards n` keeps the apps
//! whose name hashes to `i` modulo `n`. FNV-1a (as kube-state-metrics
//! uses) is stable across builds and platforms, unlike std's hasher.

use crate::config::AppConfig;

pub fn fnv1a32(s: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    h
}

pub fn owns(app_name: &str, shard: u32, total: u32) -> bool {
    total <= 1 || fnv1a32(app_name) % total == shard
}

pub fn retain_shard(apps: &mut Vec<AppConfig>, shard: u32, total: u32) {
    apps.retain(|a| owns(&a.name, shard, total));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 32 test vectors.
        assert_eq!(fnv1a32(""), 0x811c9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9cf968);
    }

    #[test]
    fn shards_cover_every_app_once() {
        for total in 1..=7u32 {
            for i in 0..1000 {
                let name = format!("app-{i}");
                let owners = (0..total).filter(|&s| owns(&name, s, total)).count();
                assert_eq!(owners, 1, "{name} with {total} shards");
            }
        }
    }
}
