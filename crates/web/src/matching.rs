//! The eligibility engine inside the web app (issue 4): the compiled rules
//! of every published policy and the columnar base of all enterprises,
//! shared by every request through `AppState`.
//!
//! - Rules are compiled on first use and recompiled when a rule is saved,
//!   a policy's status changes or the date rolls over (rules read "上年度").
//! - The population is loaded once (first use or serve start) and then kept
//!   in step row by row as enterprises and their figures change here.
//! - Pushes go through `Store::record_pushes`, whose unique key makes them
//!   at most once per (enterprise, policy, rule version), across restarts.
//!
//! Pages that show one enterprise never read the population: they evaluate
//! the enterprise's stored record with the row evaluator, so what it sees is
//! always current even if the population missed a change made elsewhere
//! (e.g. a CLI import while the server runs).

use std::collections::HashMap;
use std::sync::{Arc, RwLock as SyncRwLock};

use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use zhengqi_domain::enterprise::{Enterprise, Indicator};
use zhengqi_domain::uscc::Uscc;
use zhengqi_eligibility::award::Mode;
use zhengqi_eligibility::{Context, Population, RuleSet, Verdict};

use crate::error::ApiError;
use crate::{AppState, views};

/// What pages need to know about a published policy besides its rule.
#[derive(Clone, Debug)]
pub(crate) struct RuleMeta {
    pub title: String,
    pub version: i64,
    pub mode: Mode,
}

/// The compiled rules of every published policy with a rule, for one day.
pub(crate) struct Rules {
    pub today: NaiveDate,
    pub set: Arc<RuleSet>,
    pub meta: HashMap<i64, RuleMeta>,
}

pub(crate) type SharedPopulation = Arc<SyncRwLock<Population>>;

#[derive(Default)]
pub(crate) struct Engine {
    rules: tokio::sync::RwLock<Option<Arc<Rules>>>,
    population: tokio::sync::OnceCell<SharedPopulation>,
}

fn internal(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("{what}，请稍后重试"),
    )
}

impl AppState {
    fn ctx(&self, today: NaiveDate) -> Context<'_> {
        Context {
            today,
            reference: &self.reference,
        }
    }

    async fn load_rules(&self, today: NaiveDate) -> Result<Arc<Rules>, ApiError> {
        let published = self.store.published_rules(today).await?;
        let meta = published
            .iter()
            .map(|r| {
                (
                    r.policy_id,
                    RuleMeta {
                        title: r.title.clone(),
                        version: r.version,
                        mode: r.mode,
                    },
                )
            })
            .collect();
        let set = Arc::new(RuleSet::new(
            published
                .into_iter()
                .map(|r| (r.policy_id, r.rule))
                .collect(),
            &self.ctx(today),
        ));
        Ok(Arc::new(Rules { today, set, meta }))
    }

    /// The current rules, compiled on first use and again each new day.
    pub(crate) async fn rules(&self) -> Result<Arc<Rules>, ApiError> {
        let today = views::today();
        if let Some(r) = self.engine.rules.read().await.as_ref()
            && r.today == today
        {
            return Ok(r.clone());
        }
        let mut slot = self.engine.rules.write().await;
        if let Some(r) = slot.as_ref()
            && r.today == today
        {
            return Ok(r.clone());
        }
        let r = self.load_rules(today).await?;
        *slot = Some(r.clone());
        Ok(r)
    }

    /// Recompiles the rules from the database (a rule or a policy status
    /// changed). Holding the write lock while loading keeps two reloads
    /// from finishing out of order.
    pub(crate) async fn reload_rules(&self) -> Result<Arc<Rules>, ApiError> {
        let mut slot = self.engine.rules.write().await;
        let r = self.load_rules(views::today()).await?;
        *slot = Some(r.clone());
        Ok(r)
    }

    /// The whole base in columns, loaded from the database on first use
    /// and kept in step with changes made here: the engine's, the sandbox's
    /// and the preview's one copy.
    pub(crate) async fn population(&self) -> Result<SharedPopulation, ApiError> {
        self.engine
            .population
            .get_or_try_init(|| async {
                let pop = self.fresh_population().await?;
                Ok::<_, ApiError>(Arc::new(SyncRwLock::new(pop)))
            })
            .await
            .cloned()
    }

    /// The whole base freshly loaded from the database into columns. The
    /// engine keeps one such copy (`population`); generating an award list
    /// builds its own, transient one (money on current data).
    pub(crate) async fn fresh_population(&self) -> Result<Population, ApiError> {
        let subjects = self.store.load_subjects().await?;
        let rd = self.reference.clone();
        let t = std::time::Instant::now();
        let pop = tokio::task::spawn_blocking(move || {
            Population::build(
                subjects,
                &Context {
                    today: views::today(),
                    reference: &rd,
                },
            )
        })
        .await
        .map_err(|_| internal("企业数据载入失败"))?;
        tracing::info!(
            enterprises = pop.len(),
            ms = t.elapsed().as_millis() as u64,
            "eligibility population built"
        );
        Ok(pop)
    }

    /// Every eligible (enterprise, amount) of each policy in `set`, by the
    /// batch evaluator off the async threads.
    async fn eligible_by_policy(
        &self,
        set: Arc<RuleSet>,
    ) -> Result<HashMap<i64, Vec<(String, Option<i64>)>>, ApiError> {
        let pop = self.population().await?;
        tokio::task::spawn_blocking(move || {
            let pop = pop.read().unwrap_or_else(|e| e.into_inner());
            let result = set.match_all(&pop);
            let mut out: HashMap<i64, Vec<(String, Option<i64>)>> = HashMap::new();
            for r in result.iter(&pop) {
                if r.verdict == Verdict::Eligible {
                    out.entry(r.policy)
                        .or_default()
                        .push((r.uscc.to_owned(), r.amount));
                }
            }
            out
        })
        .await
        .map_err(|_| internal("政策匹配失败"))
    }

    /// Loads the engine (rules and population) ahead of the first request.
    pub async fn warm_engine(&self) -> Result<(), ApiError> {
        self.rules().await?;
        self.population().await?;
        Ok(())
    }

    /// The full match: every enterprise against every published rule, with
    /// pushes recorded for the eligible. Idempotent (pushes are unique per
    /// enterprise and rule version), so it runs at every serve start to
    /// catch up with changes made while the server was down. Returns the
    /// number of new pushes.
    pub async fn match_and_push_all(&self) -> Result<usize, ApiError> {
        let rules = self.reload_rules().await?;
        let eligible = self.eligible_by_policy(rules.set.clone()).await?;
        let mut n = 0;
        let mut ids: Vec<&i64> = eligible.keys().collect();
        ids.sort();
        for id in ids {
            let Some(meta) = rules.meta.get(id) else {
                continue;
            };
            n += self
                .store
                .record_pushes(*id, meta.version, &eligible[id], Utc::now())
                .await?
                .len();
        }
        Ok(n)
    }

    /// A policy's rule was saved or the policy came into force: recompiles
    /// the rules, finds every eligible enterprise for that policy and
    /// pushes it to those not yet told about this rule version. Returns the
    /// number of new pushes (0 when the policy is not in force or has no
    /// rule).
    pub(crate) async fn on_rule_saved(&self, policy_id: i64) -> Result<usize, ApiError> {
        let rules = self.reload_rules().await?;
        let (Some(rule), Some(meta)) = (rules.set.rule(policy_id), rules.meta.get(&policy_id))
        else {
            return Ok(0);
        };
        let one = Arc::new(RuleSet::new(
            vec![(policy_id, rule.clone())],
            &self.ctx(rules.today),
        ));
        let items = self
            .eligible_by_policy(one)
            .await?
            .remove(&policy_id)
            .unwrap_or_default();
        let fresh = self
            .store
            .record_pushes(policy_id, meta.version, &items, Utc::now())
            .await?;
        tracing::info!(
            policy = policy_id,
            version = meta.version,
            eligible = items.len(),
            pushed = fresh.len(),
            "policy matched"
        );
        Ok(fresh.len())
    }

    /// An enterprise's record or figures changed: keeps its population row
    /// in step and re-evaluates it against every rule (row evaluator),
    /// pushing only what it newly qualifies for. Returns the new pushes.
    pub(crate) async fn on_enterprise_changed(&self, uscc: &Uscc) -> Result<usize, ApiError> {
        let Some(e) = self.store.enterprise(uscc).await? else {
            return Ok(0);
        };
        let inds = self.store.indicators(uscc).await?;
        // Loading the population first (if not yet loaded) means the update
        // below lands after the load, whichever read the change.
        let pop = self.population().await?;
        {
            let mut pop = pop.write().unwrap_or_else(|e| e.into_inner());
            match pop.position(uscc.as_str()) {
                Some(row) => {
                    pop.replace(row, &e, &inds, &self.reference);
                }
                None => {
                    pop.push(&e, &inds, &self.reference);
                }
            }
        }
        let rules = self.rules().await?;
        let mut n = 0;
        for (id, out) in rules.set.match_one(&e, &inds) {
            if out.verdict != Verdict::Eligible {
                continue;
            }
            let Some(meta) = rules.meta.get(&id) else {
                continue;
            };
            n += self
                .store
                .record_pushes(
                    id,
                    meta.version,
                    &[(uscc.as_str().to_owned(), out.amount)],
                    Utc::now(),
                )
                .await?
                .len();
        }
        Ok(n)
    }

    /// Re-evaluation after a write that already succeeded: a failure here
    /// must not turn the user's successful write into an error, so it is
    /// logged (the next full match at serve start catches up).
    pub(crate) async fn after_enterprise_change(&self, uscc: &Uscc) {
        if let Err(e) = self.on_enterprise_changed(uscc).await {
            tracing::error!(uscc = %uscc.as_str(), error = %e.message, "re-evaluation failed");
        }
    }

    /// One enterprise's stored record and figures, for explanations.
    pub(crate) async fn subject(
        &self,
        uscc: &Uscc,
    ) -> Result<Option<(Enterprise, Vec<Indicator>)>, ApiError> {
        let Some(e) = self.store.enterprise(uscc).await? else {
            return Ok(None);
        };
        let inds = self.store.indicators(uscc).await?;
        Ok(Some((e, inds)))
    }
}
