//! Accounts and sessions. Passwords are argon2id hashes; session tokens are
//! 256-bit random values of which only the SHA-256 is stored.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::{Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::any::AnyRow;
use zhengqi_domain::auth::{Principal, Role, Username, check_new_password};
use zhengqi_domain::uscc::Uscc;

use crate::{Actor, Result, Store, StoreError, audit, ts};

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub username: Username,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub enterprise: Option<Uscc>,
    pub department: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub enterprise: Option<String>,
    pub department: Option<String>,
    pub active: bool,
    pub created_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// One message for unknown users and wrong passwords, so the answer
    /// does not reveal which usernames exist.
    #[error("用户名或密码错误")]
    Invalid,
    #[error("账号已停用，请联系管理员")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Browser,
    Api,
}

impl SessionKind {
    fn key(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Api => "api",
        }
    }
}

fn random_token() -> Result<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Invalid(format!("随机数生成失败：{e}")))?;
    Ok(hex::encode(buf))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Argon2 is deliberately slow: run it off the async workers.
pub async fn hash_password(pw: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Invalid(format!("密码哈希失败：{e}")))
    })
    .await
    .map_err(|e| StoreError::Invalid(e.to_string()))?
}

async fn verify_password(pw: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(pw.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

const ACCOUNT_COLS: &str =
    "id, username, display_name, role, enterprise, department, active, created_at";

fn account(r: &AnyRow) -> Result<Account> {
    let role: String = r.try_get("role")?;
    Ok(Account {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("角色“{role}”")))?,
        enterprise: r.try_get("enterprise")?,
        department: r.try_get("department")?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

impl Account {
    pub fn principal(&self) -> Result<Principal> {
        Ok(Principal {
            user_id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            enterprise: self
                .enterprise
                .as_deref()
                .map(Uscc::parse)
                .transpose()
                .map_err(|_| StoreError::Corrupt("账号企业代码".into()))?,
            department: self.department.clone(),
        })
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({"username": self.username, "display_name": self.display_name,
            "role": self.role.key(), "enterprise": self.enterprise, "department": self.department,
            "active": self.active})
    }
}

impl Store {
    /// Creates an account after checking the role's binding: an enterprise
    /// user needs a registered enterprise, staff need a department.
    pub async fn create_account(&self, a: &NewAccount, actor: &Actor) -> Result<Account> {
        check_new_password(&a.password).map_err(StoreError::Invalid)?;
        let display = a.display_name.trim();
        if display.is_empty() || display.chars().count() > 50 {
            return Err(StoreError::Invalid("姓名/显示名称应为1–50个字".into()));
        }
        match (a.role, &a.enterprise, &a.department) {
            (Role::Enterprise, None, _) => {
                return Err(StoreError::Invalid("企业用户必须绑定一个企业".into()));
            }
            (Role::Staff, _, None) => {
                return Err(StoreError::Invalid("部门工作人员必须绑定一个部门".into()));
            }
            _ => {}
        }
        let hash = hash_password(a.password.clone()).await?;
        let mut tx = self.begin().await?;
        if let Some(u) = &a.enterprise {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM enterprises WHERE uscc = $1")
                .bind(u.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if n == 0 {
                return Err(StoreError::Invalid(format!("企业 {u} 尚未登记")));
            }
        }
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
            .bind(a.username.as_str())
            .fetch_one(&mut *tx)
            .await?;
        if taken > 0 {
            return Err(StoreError::Conflict(format!(
                "用户名“{}”已被使用",
                a.username.as_str()
            )));
        }
        let now = ts(Utc::now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, role, enterprise, department, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING id",
        )
        .bind(a.username.as_str())
        .bind(display)
        .bind(&hash)
        .bind(a.role.key())
        .bind(a.enterprise.as_ref().map(|u| u.as_str().to_owned()))
        .bind(a.department.clone().filter(|_| a.role == Role::Staff))
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let acc = Account {
            id,
            username: a.username.as_str().to_owned(),
            display_name: display.to_owned(),
            role: a.role,
            enterprise: a.enterprise.as_ref().map(|u| u.as_str().to_owned()),
            department: a.department.clone().filter(|_| a.role == Role::Staff),
            active: true,
            created_at: now,
        };
        audit::record(
            &mut tx,
            actor,
            "account.create",
            "account",
            &acc.username,
            None,
            Some(&acc.audit_json()),
        )
        .await?;
        tx.commit().await?;
        Ok(acc)
    }

    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLS} FROM users ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account).collect()
    }

    pub async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLS} FROM users WHERE username = $1"
        )))
        .bind(username.trim().to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account).transpose()
    }

    /// Enables or disables an account; disabling also ends its sessions.
    pub async fn set_account_active(
        &self,
        username: &str,
        active: bool,
        actor: &Actor,
    ) -> Result<Account> {
        let before = self
            .account_by_username(username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("账号“{username}”")))?;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(active as i64)
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(before.id)
                .execute(&mut *tx)
                .await?;
        }
        let after = Account {
            active,
            ..before.clone()
        };
        audit::record(
            &mut tx,
            actor,
            if active {
                "account.enable"
            } else {
                "account.disable"
            },
            "account",
            &before.username,
            Some(&before.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Sets a new password and ends every session of the account.
    pub async fn set_password(&self, username: &str, password: &str, actor: &Actor) -> Result<()> {
        check_new_password(password).map_err(StoreError::Invalid)?;
        let acc = self
            .account_by_username(username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("账号“{username}”")))?;
        let hash = hash_password(password.to_owned()).await?;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(acc.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(acc.id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            actor,
            "account.password",
            "account",
            &acc.username,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a username and password. Failed attempts are audited.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Principal, AuthError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLS}, password_hash FROM users WHERE username = $1"
        )))
        .bind(username.trim().to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let found = match &row {
            Some(r) => Some((
                account(r)?,
                r.try_get::<String, _>("password_hash")
                    .map_err(StoreError::from)?,
            )),
            None => None,
        };
        // Verify against a real hash for unknown users too, so timing does
        // not tell whether the username exists.
        static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        let hash = match &found {
            Some((_, h)) => h.clone(),
            None => DUMMY
                .get_or_try_init(|| hash_password("zhengqi-dummy-password-1".into()))
                .await?
                .clone(),
        };
        let ok = verify_password(password.to_owned(), hash).await;
        let attempted = username.trim().chars().take(64).collect::<String>();
        match found {
            Some((acc, _)) if ok => {
                if !acc.active {
                    return Err(AuthError::Disabled);
                }
                Ok(acc.principal()?)
            }
            _ => {
                self.audit_event(
                    &Actor {
                        id: None,
                        name: attempted.clone(),
                        role: "anonymous".into(),
                    },
                    "login.failed",
                    "account",
                    &attempted,
                    None,
                )
                .await?;
                Err(AuthError::Invalid)
            }
        }
    }

    /// Opens a session; returns the bearer token (shown once) and the CSRF
    /// token bound to it.
    pub async fn create_session(
        &self,
        p: &Principal,
        kind: SessionKind,
        ttl: Duration,
    ) -> Result<(String, String)> {
        let token = random_token()?;
        let csrf = random_token()?;
        let now = Utc::now();
        let mut tx = self.begin().await?;
        // Expired sessions are swept on each login rather than by a timer.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(&token))
        .bind(p.user_id)
        .bind(kind.key())
        .bind(&csrf)
        .bind(ts(now))
        .bind(ts(now + ttl))
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            &Actor::from(p),
            "login",
            "account",
            &p.username,
            None,
            Some(&serde_json::json!({"session": kind.key()})),
        )
        .await?;
        tx.commit().await?;
        Ok((token, csrf))
    }

    /// The principal and CSRF token of a live session of the given kind.
    pub async fn session(
        &self,
        token: &str,
        kind: SessionKind,
    ) -> Result<Option<(Principal, String)>> {
        if token.len() != 64 {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {}, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.kind = $2 AND s.expires_at > $3 AND u.active = 1",
            ACCOUNT_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
        .bind(token_hash(token))
        .bind(kind.key())
        .bind(ts(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((account(&r)?.principal()?, r.try_get("csrf")?))),
            None => Ok(None),
        }
    }

    pub async fn end_session(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
