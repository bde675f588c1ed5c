//! Feeds arbitrary bytes to the policy parser: it must return Ok or Err,
//! never panic, and a successful parse must serialise.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use zhengqi_domain::policy::{parse_policy, to_json};
use zhengqi_domain::reference::ReferenceData;

static RD: LazyLock<ReferenceData> = LazyLock::new(ReferenceData::zhuhai);

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = parse_policy(data, &RD) {
        assert!(!p.articles.is_empty());
        let _ = to_json(&p);
    }
});
