//! Feeds arbitrary UTF-8 to the rule-language parser: it must return Ok or
//! Err, never panic. A rule that parses must print to text that parses back
//! to the same rule, and survive the JSON form unchanged.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_eligibility::{parse_rule, rule_from_value, rule_to_json, to_text};

static RD: LazyLock<ReferenceData> = LazyLock::new(ReferenceData::zhuhai);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rule) = parse_rule(text, &RD) {
        let printed = to_text(&rule, &RD);
        assert_eq!(parse_rule(&printed, &RD).as_ref(), Ok(&rule), "{printed}");
        assert_eq!(rule_from_value(&rule_to_json(&rule), &RD), Ok(rule));
    }
});
