//! `account create` and `account list`.

use std::io::BufRead;
use std::process::ExitCode;

use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::{Actor, NewAccount, StoreError};

use crate::cli::{AccountCreateArgs, DbArgs};
use crate::text::{pad, width};
use crate::{db, fail};

/// Resolves a department given by code or by name.
pub fn department_code(rd: &ReferenceData, raw: &str) -> Option<String> {
    rd.department(raw.trim())
        .or_else(|| rd.department_by_name(raw))
        .map(|d| d.code.clone())
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(pw) = std::env::var("ZHENGQI_PASSWORD")
        && !pw.is_empty()
    {
        return Ok(pw);
    }
    eprint!("请输入密码（至少8位，须含字母和数字）：");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| fail(2, format!("无法读取密码：{e}")))?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    if pw.is_empty() {
        return Err(fail(
            2,
            "没有读到密码：请设置环境变量 ZHENGQI_PASSWORD 或在提示后输入",
        ));
    }
    Ok(pw)
}

pub async fn create(args: &AccountCreateArgs) -> anyhow::Result<ExitCode> {
    let username = Username::parse(&args.username).map_err(|e| fail(2, e))?;
    let role = Role::parse(&args.role).ok_or_else(|| {
        let options: Vec<String> = Role::ALL
            .iter()
            .map(|r| format!("{}（{}）", r.key(), r.label()))
            .collect();
        fail(
            2,
            format!(
                "角色“{}”无效，可选：{}",
                args.role.trim(),
                options.join("、")
            ),
        )
    })?;
    let enterprise = args
        .enterprise
        .as_deref()
        .map(Uscc::parse)
        .transpose()
        .map_err(|e| fail(2, format!("绑定企业：{e}")))?;
    let (store, rd) = db::open(&args.db).await?;
    let department = match args.department.as_deref() {
        None => None,
        Some(raw) => Some(
            department_code(&rd, raw)
                .ok_or_else(|| fail(2, format!("部门“{}”不在部门参考数据中", raw.trim())))?,
        ),
    };
    let password = read_password()?;
    let account = NewAccount {
        username,
        display_name: args.name.clone(),
        password,
        role,
        enterprise,
        department,
    };
    let created = store
        .create_account(&account, &Actor::system("命令行"))
        .await
        .map_err(|e| match e {
            StoreError::Invalid(m) | StoreError::Conflict(m) => fail(2, m),
            other => anyhow::Error::new(other),
        })?;
    store.close().await;
    println!(
        "已创建账号 {}（{}，{}）",
        created.username,
        created.display_name,
        created.role.label()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn list(db_args: &DbArgs) -> anyhow::Result<ExitCode> {
    let (store, rd) = db::open(db_args).await?;
    let accounts = store.accounts().await?;
    store.close().await;
    if accounts.is_empty() {
        println!("还没有账号。用 zhengqi account create 创建。");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table: Vec<[String; 5]> = vec![[
        "用户名".into(),
        "显示名称".into(),
        "角色".into(),
        "绑定".into(),
        "状态".into(),
    ]];
    for a in &accounts {
        let binding = match (&a.enterprise, &a.department) {
            (Some(e), _) => format!("企业 {e}"),
            (None, Some(d)) => rd
                .department(d)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| d.clone()),
            (None, None) => String::new(),
        };
        table.push([
            a.username.clone(),
            a.display_name.clone(),
            a.role.label().to_owned(),
            binding,
            if a.active { "启用" } else { "停用" }.to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| table.iter().map(|r| width(&r[c])).max().unwrap_or(0))
        .collect();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| pad(cell, *w))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    println!("共 {} 个账号", accounts.len());
    Ok(ExitCode::SUCCESS)
}
