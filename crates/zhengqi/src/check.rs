//! `check uscc` and `classify`: pure checks that need no database.

use std::process::ExitCode;

use zhengqi_domain::money::Amount;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::SizeInput;
use zhengqi_domain::uscc::Uscc;

use crate::cli::ClassifyArgs;
use crate::fail;

/// Prints one verdict per code; success only when every code is valid.
pub fn uscc(codes: &[String]) -> ExitCode {
    let mut all_ok = true;
    for code in codes {
        match Uscc::parse(code) {
            Ok(_) => println!("{code}  有效"),
            Err(e) => {
                all_ok = false;
                println!("{code}  无效：{e}");
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn parse_employees(raw: &str) -> anyhow::Result<u64> {
    let t = raw.trim().trim_end_matches('人').trim().replace(',', "");
    t.parse::<u64>().map_err(|_| {
        fail(
            2,
            format!("从业人员“{}”无法识别：应为不小于0的整数", raw.trim()),
        )
    })
}

fn parse_amount(label: &str, raw: &str) -> anyhow::Result<Amount> {
    Amount::parse(raw).map_err(|e| fail(2, format!("{label}：{e}")))
}

pub fn classify(args: &ClassifyArgs) -> anyhow::Result<ExitCode> {
    let input = SizeInput {
        industry: args.industry.clone(),
        employees: args.employees.as_deref().map(parse_employees).transpose()?,
        revenue: args
            .revenue
            .as_deref()
            .map(|r| parse_amount("营业收入", r))
            .transpose()?,
        assets: args
            .assets
            .as_deref()
            .map(|a| parse_amount("资产总额", a))
            .transpose()?,
    };
    let rd = ReferenceData::zhuhai();
    let decision = rd
        .size_rules
        .classify(&input)
        .map_err(|e| fail(2, e.to_string()))?;
    println!("{}", decision.class.label());
    println!("{}", decision.rule);
    Ok(ExitCode::SUCCESS)
}
