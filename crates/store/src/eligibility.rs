//! Storage of the eligibility engine (issue 4): versioned policy rules, the
//! push inbox (at most once per enterprise and rule version, enforced by a
//! unique key), 免申即享 award lists with notice, objections, accounts and
//! payments, and 即申即享 applications. The decisions themselves are pure
//! (`zhengqi_eligibility`); this module makes them durable and audited.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};
use zhengqi_domain::enterprise::{Enterprise, Indicator, IndicatorKind};
use zhengqi_eligibility::ast::Rule;
use zhengqi_eligibility::award::{
    ApplicationStatus, AwardAction, AwardStatus, BankAccount, ListStatus, Mode, next_status,
};

use crate::{Actor, Backend, Result, Store, StoreError, audit, parse_ts, ts};

#[derive(Clone, Debug, Serialize)]
pub struct StoredRule {
    pub policy_id: i64,
    pub version: i64,
    pub text: String,
    pub rule: Rule,
    pub mode: Mode,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Push {
    pub id: i64,
    pub uscc: String,
    pub policy_id: i64,
    pub rule_version: i64,
    pub amount: Option<i64>,
    pub created_at: String,
    pub read_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AwardList {
    pub id: i64,
    pub policy_id: i64,
    pub rule_version: i64,
    /// As stored; use [`AwardList::status_on`] for the effective status.
    pub status: ListStatus,
    pub publicity_days: Option<i64>,
    pub publicity_from: Option<NaiveDate>,
    pub publicity_to: Option<NaiveDate>,
    pub undetermined: i64,
    pub created_at: String,
    pub created_by: String,
    pub count: i64,
    pub total: i64,
}

impl AwardList {
    pub fn status_on(&self, today: NaiveDate) -> ListStatus {
        self.status.effective(self.publicity_to, today)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Award {
    pub id: i64,
    pub list_id: i64,
    pub uscc: String,
    pub amount: i64,
    pub status: AwardStatus,
    pub account: Option<BankAccount>,
    pub confirmed_at: Option<String>,
    pub approved_at: Option<String>,
    pub paid_at: Option<String>,
    pub payment_ref: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Objection {
    pub id: i64,
    pub list_id: i64,
    pub uscc: Option<String>,
    pub submitter: String,
    pub text: String,
    pub created_at: String,
    pub upheld: Option<bool>,
    pub resolution: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Application {
    pub id: i64,
    pub uscc: String,
    pub policy_id: i64,
    pub rule_version: i64,
    pub verdict: String,
    pub amount: Option<i64>,
    pub status: ApplicationStatus,
    pub explanation: serde_json::Value,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
}

/// A published policy's rule as the engine evaluates it: the conditions
/// implied by the policy's tags (企业规模、适用区域、有效期至) joined with the
/// staff-written rule. The CLI and the web layer both use this, so a match
/// means the same everywhere.
#[derive(Clone, Debug)]
pub struct PublishedRule {
    pub policy_id: i64,
    pub title: String,
    pub version: i64,
    pub mode: Mode,
    pub rule: Rule,
}

/// What an applicant's 即申即享 request produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ApplyOutcome {
    Created(i64),
    /// Already applied under this rule version: the earlier application.
    Existing(i64),
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

fn rule_from_row(r: &sqlx::any::AnyRow) -> Result<StoredRule> {
    let mode: String = r.try_get("mode")?;
    Ok(StoredRule {
        policy_id: r.try_get("policy_id")?,
        version: r.try_get("version")?,
        text: r.try_get("text")?,
        rule: serde_json::from_str(&r.try_get::<String, _>("rule")?)
            .map_err(|e| corrupt(format!("政策规则：{e}")))?,
        mode: Mode::parse(&mode).ok_or_else(|| corrupt(format!("兑现方式“{mode}”")))?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

fn date_opt(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.map(|s| s.parse().map_err(|_| corrupt(format!("日期“{s}”"))))
        .transpose()
}

fn award_from_row(r: &sqlx::any::AnyRow) -> Result<Award> {
    let status: String = r.try_get("status")?;
    let holder: Option<String> = r.try_get("account_holder")?;
    let account = match holder {
        Some(holder) => Some(BankAccount {
            holder,
            bank: r
                .try_get::<Option<String>, _>("account_bank")?
                .unwrap_or_default(),
            number: r
                .try_get::<Option<String>, _>("account_number")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Award {
        id: r.try_get("id")?,
        list_id: r.try_get("list_id")?,
        uscc: r.try_get("uscc")?,
        amount: r.try_get("amount")?,
        status: AwardStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("资金状态“{status}”")))?,
        account,
        confirmed_at: r.try_get("confirmed_at")?,
        approved_at: r.try_get("approved_at")?,
        paid_at: r.try_get("paid_at")?,
        payment_ref: r.try_get("payment_ref")?,
    })
}

fn application_from_row(r: &sqlx::any::AnyRow) -> Result<Application> {
    let status: String = r.try_get("status")?;
    Ok(Application {
        id: r.try_get("id")?,
        uscc: r.try_get("uscc")?,
        policy_id: r.try_get("policy_id")?,
        rule_version: r.try_get("rule_version")?,
        verdict: r.try_get("verdict")?,
        amount: r.try_get("amount")?,
        status: ApplicationStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("申请状态“{status}”")))?,
        explanation: serde_json::from_str(&r.try_get::<String, _>("explanation")?)
            .unwrap_or(serde_json::Value::Null),
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
        note: r.try_get("note")?,
    })
}

const AWARD_COLS: &str = "id, list_id, uscc, amount, status, account_holder, account_bank, account_number, \
     confirmed_at, approved_at, paid_at, payment_ref";
const LIST_COLS: &str = "l.id, l.policy_id, l.rule_version, l.status, l.publicity_days, l.publicity_from, \
     l.publicity_to, l.undetermined, l.created_at, l.created_by, \
     (SELECT COUNT(*) FROM awards a WHERE a.list_id = l.id AND a.status <> 'withdrawn') AS n, \
     (SELECT CAST(COALESCE(SUM(a.amount), 0) AS BIGINT) FROM awards a WHERE a.list_id = l.id AND a.status <> 'withdrawn') AS total";

fn list_from_row(r: &sqlx::any::AnyRow) -> Result<AwardList> {
    let status: String = r.try_get("status")?;
    Ok(AwardList {
        id: r.try_get("id")?,
        policy_id: r.try_get("policy_id")?,
        rule_version: r.try_get("rule_version")?,
        status: ListStatus::parse(&status).ok_or_else(|| corrupt(format!("名单状态“{status}”")))?,
        publicity_days: r.try_get("publicity_days")?,
        publicity_from: date_opt(r.try_get("publicity_from")?)?,
        publicity_to: date_opt(r.try_get("publicity_to")?)?,
        undetermined: r.try_get("undetermined")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        count: r.try_get("n")?,
        total: r.try_get("total")?,
    })
}

impl Store {
    fn lock_suffix(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Saves a new version of a policy's rule (the caller has parsed and
    /// type-checked it). Saving the same text and mode again is a no-op and
    /// returns the current version.
    pub async fn save_rule(
        &self,
        policy_id: i64,
        text: &str,
        rule: &Rule,
        mode: Mode,
        actor: &Actor,
    ) -> Result<StoredRule> {
        let mut tx = self.begin().await?;
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policies WHERE id = $1")
            .bind(policy_id)
            .fetch_one(&mut *tx)
            .await?;
        if exists == 0 {
            return Err(StoreError::NotFound(format!("政策 {policy_id}")));
        }
        let current = sqlx::query(AssertSqlSafe(format!(
            "SELECT policy_id, version, text, rule, mode, created_at, created_by FROM policy_rules \
             WHERE policy_id = $1 ORDER BY version DESC LIMIT 1{}",
            self.lock_suffix()
        )))
        .bind(policy_id)
        .fetch_optional(&mut *tx)
        .await?;
        let current = current.as_ref().map(rule_from_row).transpose()?;
        let rule_json = serde_json::to_string(rule).map_err(|e| corrupt(e.to_string()))?;
        if let Some(c) = &current
            && c.mode == mode
            && &c.rule == rule
            && c.text == text
        {
            return Ok(c.clone());
        }
        let version = current.as_ref().map_or(1, |c| c.version + 1);
        let now = ts(Utc::now());
        sqlx::query(
            "INSERT INTO policy_rules (policy_id, version, text, rule, mode, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(policy_id)
        .bind(version)
        .bind(text)
        .bind(&rule_json)
        .bind(mode.key())
        .bind(&now)
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "policy.rule",
            "policy",
            &policy_id.to_string(),
            current
                .as_ref()
                .map(|c| serde_json::json!({"version": c.version, "text": c.text, "mode": c.mode.key()}))
                .as_ref(),
            Some(&serde_json::json!({"version": version, "text": text, "mode": mode.key()})),
        )
        .await?;
        tx.commit().await?;
        Ok(StoredRule {
            policy_id,
            version,
            text: text.to_owned(),
            rule: rule.clone(),
            mode,
            created_at: now,
            created_by: actor.name.clone(),
        })
    }

    pub async fn current_rule(&self, policy_id: i64) -> Result<Option<StoredRule>> {
        let row = sqlx::query(
            "SELECT policy_id, version, text, rule, mode, created_at, created_by FROM policy_rules \
             WHERE policy_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(policy_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rule_from_row).transpose()
    }

    /// The current rule of every policy that has one.
    pub async fn current_rules(&self) -> Result<Vec<StoredRule>> {
        let rows = sqlx::query(
            "SELECT r.policy_id, r.version, r.text, r.rule, r.mode, r.created_at, r.created_by \
             FROM policy_rules r WHERE r.version = \
             (SELECT MAX(x.version) FROM policy_rules x WHERE x.policy_id = r.policy_id) \
             ORDER BY r.policy_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }

    /// The evaluated rule of every policy that is in force on `today` and
    /// has a rule, ordered by policy id.
    pub async fn published_rules(&self, today: NaiveDate) -> Result<Vec<PublishedRule>> {
        let policies: HashMap<i64, crate::PolicySummary> = self
            .policies()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut out = Vec::new();
        for r in self.current_rules().await? {
            let Some(p) = policies.get(&r.policy_id) else {
                continue;
            };
            if p.effective_status(today) != "published" {
                continue;
            }
            let tags = zhengqi_eligibility::tag_conditions_of(&p.sizes, &p.areas, p.valid_until);
            out.push(PublishedRule {
                policy_id: p.id,
                title: p.title.clone(),
                version: r.version,
                mode: r.mode,
                rule: zhengqi_eligibility::policy_rule(tags, &r.rule),
            });
        }
        Ok(out)
    }

    pub async fn rule_versions(&self, policy_id: i64) -> Result<Vec<StoredRule>> {
        let rows = sqlx::query(
            "SELECT policy_id, version, text, rule, mode, created_at, created_by FROM policy_rules \
             WHERE policy_id = $1 ORDER BY version DESC",
        )
        .bind(policy_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }

    /// Records pushes of one policy rule version to the given enterprises in
    /// one transaction; enterprises already pushed this version are skipped
    /// (unique key), so re-running a match never notifies twice. Each new
    /// push also gets an outbox row for SMS and other channels. Returns the
    /// enterprises that were newly pushed.
    pub async fn record_pushes(
        &self,
        policy_id: i64,
        rule_version: i64,
        items: &[(String, Option<i64>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let mut tx = self.begin().await?;
        let now_s = ts(now);
        let mut fresh = Vec::new();
        for (uscc, amount) in items {
            let done = sqlx::query(
                "INSERT INTO policy_pushes (uscc, policy_id, rule_version, amount, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uscc, policy_id, rule_version) DO NOTHING",
            )
            .bind(uscc)
            .bind(policy_id)
            .bind(rule_version)
            .bind(*amount)
            .bind(&now_s)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                let notice = serde_json::json!({
                    "PolicyPush": {"uscc": uscc, "policy_id": policy_id, "rule_version": rule_version, "amount": amount}
                });
                sqlx::query("INSERT INTO outbox (case_id, notice, created_at) VALUES ($1, $2, $3)")
                    .bind(format!("policy:{policy_id}"))
                    .bind(notice.to_string())
                    .bind(&now_s)
                    .execute(&mut *tx)
                    .await?;
                fresh.push(uscc.clone());
            }
        }
        tx.commit().await?;
        Ok(fresh)
    }

    /// An enterprise's inbox, newest first.
    pub async fn pushes_of(&self, uscc: &str) -> Result<Vec<Push>> {
        let rows = sqlx::query(
            "SELECT id, uscc, policy_id, rule_version, amount, created_at, read_at FROM policy_pushes \
             WHERE uscc = $1 ORDER BY id DESC LIMIT 500",
        )
        .bind(uscc)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Push {
                    id: r.try_get("id")?,
                    uscc: r.try_get("uscc")?,
                    policy_id: r.try_get("policy_id")?,
                    rule_version: r.try_get("rule_version")?,
                    amount: r.try_get("amount")?,
                    created_at: r.try_get("created_at")?,
                    read_at: r.try_get("read_at")?,
                })
            })
            .collect()
    }

    /// Marks the enterprise's pushes read (only its own: the USCC is part of
    /// the condition).
    pub async fn mark_pushes_read(&self, uscc: &str) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE policy_pushes SET read_at = $1 WHERE uscc = $2 AND read_at IS NULL",
        )
        .bind(ts(Utc::now()))
        .bind(uscc)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// How many pushes the enterprise has not read yet (the nav badge).
    pub async fn unread_push_count(&self, uscc: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM policy_pushes WHERE uscc = $1 AND read_at IS NULL",
        )
        .bind(uscc)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn push_count(&self, policy_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM policy_pushes WHERE policy_id = $1")
                .bind(policy_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Creates a 免申即享 list for review from the engine's result: one award
    /// per eligible enterprise with a positive amount.
    pub async fn create_award_list(
        &self,
        policy_id: i64,
        rule_version: i64,
        awards: &[(String, i64)],
        undetermined: i64,
        actor: &Actor,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let now = ts(Utc::now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO award_lists (policy_id, rule_version, status, undetermined, created_at, created_by) \
             VALUES ($1, $2, 'review', $3, $4, $5) RETURNING id",
        )
        .bind(policy_id)
        .bind(rule_version)
        .bind(undetermined)
        .bind(&now)
        .bind(&actor.name)
        .fetch_one(&mut *tx)
        .await?;
        let mut total = 0i64;
        for (uscc, amount) in awards.iter().filter(|(_, a)| *a > 0) {
            total = total.saturating_add(*amount);
            sqlx::query(
                "INSERT INTO awards (list_id, uscc, amount, status, updated_at) VALUES ($1, $2, $3, 'listed', $4)",
            )
            .bind(id)
            .bind(uscc)
            .bind(*amount)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            actor,
            "award_list.create",
            "award_list",
            &id.to_string(),
            None,
            Some(&serde_json::json!({"policy": policy_id, "rule_version": rule_version,
                "count": awards.iter().filter(|(_, a)| *a > 0).count(), "total": total, "undetermined": undetermined})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn award_lists(&self, policy_id: Option<i64>) -> Result<Vec<AwardList>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LIST_COLS} FROM award_lists l WHERE ($1 = 0 OR l.policy_id = $1) ORDER BY l.id DESC"
        )))
        .bind(policy_id.unwrap_or(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(list_from_row).collect()
    }

    pub async fn award_list(&self, id: i64) -> Result<Option<AwardList>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LIST_COLS} FROM award_lists l WHERE l.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(list_from_row).transpose()
    }

    pub async fn awards(&self, list_id: i64) -> Result<Vec<Award>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AWARD_COLS} FROM awards WHERE list_id = $1 ORDER BY amount DESC, uscc"
        )))
        .bind(list_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(award_from_row).collect()
    }

    pub async fn award(&self, id: i64) -> Result<Option<Award>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AWARD_COLS} FROM awards WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(award_from_row).transpose()
    }

    /// The awards of one enterprise, newest list first.
    pub async fn awards_of(&self, uscc: &str) -> Result<Vec<Award>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AWARD_COLS} FROM awards WHERE uscc = $1 ORDER BY list_id DESC"
        )))
        .bind(uscc)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(award_from_row).collect()
    }

    /// Review passed: the list goes to public notice from `from` to `to`
    /// (inclusive; the caller counts `days` working days on the calendar).
    pub async fn publish_award_list(
        &self,
        id: i64,
        days: i64,
        from: NaiveDate,
        to: NaiveDate,
        actor: &Actor,
    ) -> Result<()> {
        self.change_list(
            id,
            actor,
            "award_list.publish",
            |status| {
                if status != ListStatus::Review {
                    return Err("只有待审核的名单可以公示".into());
                }
                Ok(ListStatus::Publicity)
            },
            Some((days, from, to)),
        )
        .await
    }

    pub async fn cancel_award_list(&self, id: i64, actor: &Actor) -> Result<()> {
        self.change_list(
            id,
            actor,
            "award_list.cancel",
            |status| {
                if status != ListStatus::Review {
                    return Err("只有待审核的名单可以作废".into());
                }
                Ok(ListStatus::Cancelled)
            },
            None,
        )
        .await
    }

    async fn change_list(
        &self,
        id: i64,
        actor: &Actor,
        action: &str,
        decide: impl FnOnce(ListStatus) -> std::result::Result<ListStatus, String>,
        publicity: Option<(i64, NaiveDate, NaiveDate)>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let status: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT status FROM award_lists WHERE id = $1{}",
            self.lock_suffix()
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let status = status.ok_or_else(|| StoreError::NotFound(format!("兑现名单 {id}")))?;
        let before = ListStatus::parse(&status).ok_or_else(|| corrupt(status.clone()))?;
        let after = decide(before).map_err(StoreError::Invalid)?;
        let now = ts(Utc::now());
        sqlx::query(
            "UPDATE award_lists SET status = $1, reviewed_at = $2, reviewed_by = $3, \
             publicity_days = COALESCE($4, publicity_days), publicity_from = COALESCE($5, publicity_from), \
             publicity_to = COALESCE($6, publicity_to) WHERE id = $7",
        )
        .bind(after.key())
        .bind(&now)
        .bind(&actor.name)
        .bind(publicity.map(|p| p.0))
        .bind(publicity.map(|p| p.1.to_string()))
        .bind(publicity.map(|p| p.2.to_string()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            action,
            "award_list",
            &id.to_string(),
            Some(&serde_json::json!({"status": before.key()})),
            Some(&serde_json::json!({"status": after.key(),
                "publicity": publicity.map(|p| serde_json::json!({"days": p.0, "from": p.1, "to": p.2}))})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves one award by the pure rules of `award::next_status`, under the
    /// row lock, with its audit entry. `account` is required to confirm an
    /// account; `payment_ref` to pay (unique: a payment is recorded once).
    #[allow(clippy::too_many_arguments)]
    pub async fn award_action(
        &self,
        id: i64,
        action: AwardAction,
        account: Option<&BankAccount>,
        payment_ref: Option<&str>,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<Award> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AWARD_COLS} FROM awards WHERE id = $1{}",
            self.lock_suffix()
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("资金 {id}")))?;
        let before = award_from_row(&row)?;
        let list = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LIST_COLS} FROM award_lists l WHERE l.id = $1"
        )))
        .bind(before.list_id)
        .fetch_one(&mut *tx)
        .await?;
        let list = list_from_row(&list)?;
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM award_objections WHERE list_id = $1 AND uscc = $2 AND resolved_at IS NULL",
        )
        .bind(before.list_id)
        .bind(&before.uscc)
        .fetch_one(&mut *tx)
        .await?;
        let after = next_status(list.status_on(today), before.status, open > 0, &action)
            .map_err(StoreError::Invalid)?;
        let now = ts(Utc::now());
        let q = match action {
            AwardAction::ConfirmAccount => {
                let a = account.ok_or_else(|| StoreError::Invalid("请填写收款账户".into()))?;
                sqlx::query(
                    "UPDATE awards SET status = $1, account_holder = $2, account_bank = $3, account_number = $4, \
                     confirmed_at = $5, updated_at = $5 WHERE id = $6",
                )
                .bind(after.key())
                .bind(&a.holder)
                .bind(&a.bank)
                .bind(&a.number)
                .bind(&now)
                .bind(id)
            }
            AwardAction::Approve => sqlx::query(
                "UPDATE awards SET status = $1, approved_at = $2, approved_by = $3, updated_at = $2 WHERE id = $4",
            )
            .bind(after.key())
            .bind(&now)
            .bind(&actor.name)
            .bind(id),
            AwardAction::Pay => {
                let r = payment_ref
                    .map(str::trim)
                    .filter(|r| !r.is_empty() && r.chars().count() <= 64)
                    .ok_or_else(|| StoreError::Invalid("请填写拨付凭证号（不超过64个字符）".into()))?;
                let used: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM awards WHERE payment_ref = $1")
                        .bind(r)
                        .fetch_one(&mut *tx)
                        .await?;
                if used > 0 {
                    return Err(StoreError::Conflict(format!("拨付凭证号“{r}”已用于另一笔拨付")));
                }
                sqlx::query(
                    "UPDATE awards SET status = $1, paid_at = $2, payment_ref = $3, updated_at = $2 \
                     WHERE id = $4 AND status = 'approved'",
                )
                .bind(after.key())
                .bind(&now)
                .bind(r.to_owned())
                .bind(id)
            }
            AwardAction::Withdraw => {
                sqlx::query("UPDATE awards SET status = $1, updated_at = $2 WHERE id = $3")
                    .bind(after.key())
                    .bind(&now)
                    .bind(id)
            }
        };
        let changed = q.execute(&mut *tx).await?.rows_affected();
        if changed != 1 {
            return Err(StoreError::Conflict(
                "资金状态已被他人更新，请刷新后重试".into(),
            ));
        }
        audit::record(
            &mut tx,
            actor,
            match action {
                AwardAction::ConfirmAccount => "award.account",
                AwardAction::Approve => "award.approve",
                AwardAction::Pay => "award.pay",
                AwardAction::Withdraw => "award.withdraw",
            },
            "award",
            &id.to_string(),
            Some(&serde_json::json!({"status": before.status.key()})),
            Some(&serde_json::json!({"status": after.key(), "uscc": before.uscc, "amount": before.amount,
                "account": account.map(BankAccount::masked), "payment_ref": payment_ref})),
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AWARD_COLS} FROM awards WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let award = award_from_row(&row)?;
        tx.commit().await?;
        Ok(award)
    }

    /// Files an objection during the notice period.
    pub async fn add_objection(
        &self,
        list_id: i64,
        uscc: Option<&str>,
        text: &str,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 1000 {
            return Err(StoreError::Invalid(
                "异议内容不能为空，且不超过1000字".into(),
            ));
        }
        let list = self
            .award_list(list_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("兑现名单 {list_id}")))?;
        if list.status_on(today) != ListStatus::Publicity {
            return Err(StoreError::Invalid("只能在公示期内提出异议".into()));
        }
        let mut tx = self.begin().await?;
        if let Some(u) = uscc {
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM awards WHERE list_id = $1 AND uscc = $2")
                    .bind(list_id)
                    .bind(u)
                    .fetch_one(&mut *tx)
                    .await?;
            if n == 0 {
                return Err(StoreError::Invalid(format!(
                    "名单中没有统一社会信用代码为 {u} 的企业"
                )));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO award_objections (list_id, uscc, submitter, text, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(list_id)
        .bind(uscc)
        .bind(&actor.name)
        .bind(text)
        .bind(ts(Utc::now()))
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "award_list.objection",
            "award_list",
            &list_id.to_string(),
            None,
            Some(&serde_json::json!({"objection": id, "uscc": uscc, "text": text})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn objections(&self, list_id: i64) -> Result<Vec<Objection>> {
        let rows = sqlx::query(
            "SELECT id, list_id, uscc, submitter, text, created_at, upheld, resolution FROM award_objections \
             WHERE list_id = $1 ORDER BY id",
        )
        .bind(list_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Objection {
                    id: r.try_get("id")?,
                    list_id: r.try_get("list_id")?,
                    uscc: r.try_get("uscc")?,
                    submitter: r.try_get("submitter")?,
                    text: r.try_get("text")?,
                    created_at: r.try_get("created_at")?,
                    upheld: r.try_get::<Option<i64>, _>("upheld")?.map(|v| v != 0),
                    resolution: r.try_get("resolution")?,
                })
            })
            .collect()
    }

    /// Resolves an objection; an upheld objection about one enterprise
    /// withdraws its award (unless already paid) in the same transaction.
    pub async fn resolve_objection(
        &self,
        id: i64,
        upheld: bool,
        resolution: &str,
        actor: &Actor,
    ) -> Result<()> {
        let resolution = resolution.trim();
        if resolution.is_empty() || resolution.chars().count() > 1000 {
            return Err(StoreError::Invalid("请填写处理意见（不超过1000字）".into()));
        }
        let mut tx = self.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT list_id, uscc, resolved_at FROM award_objections WHERE id = $1{}",
            self.lock_suffix()
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("异议 {id}")))?;
        if row.try_get::<Option<String>, _>("resolved_at")?.is_some() {
            return Err(StoreError::Invalid("该异议已处理".into()));
        }
        let list_id: i64 = row.try_get("list_id")?;
        let uscc: Option<String> = row.try_get("uscc")?;
        let now = ts(Utc::now());
        sqlx::query(
            "UPDATE award_objections SET upheld = $1, resolution = $2, resolved_at = $3, resolved_by = $4 WHERE id = $5",
        )
        .bind(upheld as i64)
        .bind(resolution)
        .bind(&now)
        .bind(&actor.name)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut withdrawn = false;
        if upheld && let Some(u) = &uscc {
            withdrawn = sqlx::query(
                "UPDATE awards SET status = 'withdrawn', updated_at = $1 WHERE list_id = $2 AND uscc = $3 AND status <> 'paid'",
            )
            .bind(&now)
            .bind(list_id)
            .bind(u)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
        }
        audit::record(
            &mut tx,
            actor,
            "award_list.objection_resolved",
            "award_list",
            &list_id.to_string(),
            None,
            Some(
                &serde_json::json!({"objection": id, "upheld": upheld, "resolution": resolution,
                "uscc": uscc, "award_withdrawn": withdrawn}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a 即申即享 application with the engine's decision. One
    /// application per enterprise and rule version: a repeated request
    /// returns the earlier one.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_instant(
        &self,
        uscc: &str,
        policy_id: i64,
        rule_version: i64,
        verdict: &str,
        amount: Option<i64>,
        status: ApplicationStatus,
        explanation: &serde_json::Value,
        actor: &Actor,
    ) -> Result<ApplyOutcome> {
        let mut tx = self.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM policy_applications WHERE uscc = $1 AND policy_id = $2 AND rule_version = $3",
        )
        .bind(uscc)
        .bind(policy_id)
        .bind(rule_version)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = existing {
            return Ok(ApplyOutcome::Existing(id));
        }
        let now = ts(Utc::now());
        let decided = status != ApplicationStatus::Pending;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policy_applications (uscc, policy_id, rule_version, verdict, amount, status, explanation, \
             created_at, decided_at, decided_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(uscc)
        .bind(policy_id)
        .bind(rule_version)
        .bind(verdict)
        .bind(amount)
        .bind(status.key())
        .bind(explanation.to_string())
        .bind(&now)
        .bind(decided.then(|| now.clone()))
        .bind(decided.then(|| "平台规则引擎".to_owned()))
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "application.submit",
            "application",
            &id.to_string(),
            None,
            Some(
                &serde_json::json!({"uscc": uscc, "policy": policy_id, "rule_version": rule_version,
                "verdict": verdict, "amount": amount, "status": status.key()}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(ApplyOutcome::Created(id))
    }

    pub async fn application(&self, id: i64) -> Result<Option<Application>> {
        let row = sqlx::query("SELECT * FROM policy_applications WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(application_from_row).transpose()
    }

    /// Applications filtered by policy and/or enterprise, newest first.
    pub async fn applications(
        &self,
        policy_id: Option<i64>,
        uscc: Option<&str>,
    ) -> Result<Vec<Application>> {
        let rows = sqlx::query(
            "SELECT * FROM policy_applications WHERE ($1 = 0 OR policy_id = $1) AND ($2 = '' OR uscc = $2) \
             ORDER BY id DESC LIMIT 1000",
        )
        .bind(policy_id.unwrap_or(0))
        .bind(uscc.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(application_from_row).collect()
    }

    /// A person decides a queued application (or records the payment of an
    /// approved one). Only the listed transitions are allowed.
    pub async fn decide_application(
        &self,
        id: i64,
        to: ApplicationStatus,
        note: &str,
        actor: &Actor,
    ) -> Result<Application> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM policy_applications WHERE id = $1{}",
            self.lock_suffix()
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("申请 {id}")))?;
        let before = application_from_row(&row)?;
        use ApplicationStatus as S;
        let ok = matches!(
            (before.status, to),
            (S::Pending, S::ManualApproved | S::ManualRejected)
                | (S::AutoApproved | S::ManualApproved, S::Paid)
        );
        if !ok {
            return Err(StoreError::Invalid(format!(
                "申请当前为“{}”，不能改为“{}”",
                before.status.label(),
                to.label()
            )));
        }
        let note = note.trim();
        if note.chars().count() > 1000 {
            return Err(StoreError::Invalid("审核意见不超过1000字".into()));
        }
        let now = ts(Utc::now());
        let q = if to == S::Paid {
            "UPDATE policy_applications SET status = $1, paid_at = $2, note = COALESCE(NULLIF($4, ''), note) WHERE id = $3 AND status = $5"
        } else {
            "UPDATE policy_applications SET status = $1, decided_at = $2, decided_by = $6, note = $4 WHERE id = $3 AND status = $5"
        };
        let mut query = sqlx::query(q)
            .bind(to.key())
            .bind(&now)
            .bind(id)
            .bind(note)
            .bind(before.status.key());
        if to != S::Paid {
            query = query.bind(&actor.name);
        }
        if query.execute(&mut *tx).await?.rows_affected() != 1 {
            return Err(StoreError::Conflict("申请已被他人处理，请刷新".into()));
        }
        audit::record(
            &mut tx,
            actor,
            "application.decide",
            "application",
            &id.to_string(),
            Some(&serde_json::json!({"status": before.status.key()})),
            Some(&serde_json::json!({"status": to.key(), "note": note})),
        )
        .await?;
        let row = sqlx::query("SELECT * FROM policy_applications WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let app = application_from_row(&row)?;
        tx.commit().await?;
        Ok(app)
    }

    /// Every enterprise with its figures in force (per indicator kind and
    /// year, the one that counts; not the history), for the engine: one row
    /// per enterprise from `enterprise_figures`, paged by key so neither
    /// backend materialises the whole table at once. (Decoding a page on a
    /// blocking thread while reading the next was measured slower: both
    /// stages want the two cores.)
    pub async fn load_subjects(&self) -> Result<Vec<(Enterprise, Vec<Indicator>)>> {
        let mut out: Vec<(Enterprise, Vec<Indicator>)> = Vec::new();
        let mut page_after = String::new();
        loop {
            // A lookup per row measured faster at 400,000 than a LEFT JOIN.
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {}, (SELECT f.figures FROM enterprise_figures f WHERE f.uscc = enterprises.uscc) AS figures \
                 FROM enterprises WHERE uscc > $1 ORDER BY uscc LIMIT 20000",
                crate::enterprises::COLS
            )))
            .bind(&page_after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            page_after = last.try_get("uscc")?;
            out.extend(decode_subjects(&rows)?);
        }
        Ok(out)
    }
}

type Subject = (Enterprise, Vec<Indicator>);

/// A page of `load_subjects`: each enterprise with its figures in force.
fn decode_subjects(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Subject>> {
    /// `[kind, year, value, source, arrived_at]`, borrowed from the row
    /// where the JSON has no escapes.
    #[derive(serde::Deserialize)]
    struct Figure<'a>(
        #[serde(borrow)] Cow<'a, str>,
        i32,
        i64,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
    );
    // Arrival times repeat (one per import): parsed once each.
    let mut times: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let e = crate::enterprises::from_row(r)?;
        let figures: Option<&str> = r.try_get("figures")?;
        let figures: Vec<Figure<'_>> = match figures {
            None => Vec::new(),
            Some(text) => serde_json::from_str(text)
                .map_err(|err| corrupt(format!("企业 {} 的指标：{err}", e.uscc.as_str())))?,
        };
        let mut ind = Vec::with_capacity(figures.len());
        for Figure(kind, year, value, source, at) in figures {
            let kind =
                IndicatorKind::parse(&kind).ok_or_else(|| corrupt(format!("指标“{kind}”")))?;
            let arrived_at = match times.get(at.as_ref()) {
                Some(t) => *t,
                None => {
                    let t = parse_ts(&at)?;
                    times.insert(at.into_owned(), t);
                    t
                }
            };
            ind.push(Indicator {
                kind,
                year,
                value,
                source: source.into_owned(),
                arrived_at,
            });
        }
        out.push((e, ind));
    }
    Ok(out)
}
