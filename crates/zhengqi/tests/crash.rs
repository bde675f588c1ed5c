//! Crash recovery: the real `zhengqi serve` binary under a load of case
//! submissions and department actions from several concurrent API clients
//! is killed with SIGKILL (`kill -9`) in the middle of the load, restarted
//! on the same database, and every change the server acknowledged (2xx)
//! must be there: the case exists, the event is in its log, the snapshot
//! equals the replay of the log, nothing is left approved by every
//! department but not issued, and a retried submission with the same
//! idempotency key returns the same case. Three kill/restart rounds, each
//! check covering all earlier rounds; the kill point moves at random.
//!
//! SQLite (a file in a temp dir) by default; a fresh database on the
//! PostgreSQL server named by `DATABASE_URL` when that is a postgres URL.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Guard, PASSWORD, Res};
use reqwest::StatusCode;
use serde_json::{Value, json};
use zhengqi_domain::approval::case::{Case, CaseStatus, Event};
use zhengqi_domain::approval::catalogue::Catalogue;
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_domain::enterprise::EnterpriseDraft;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::{Actor, NewAccount, ReferenceDocs, Store};

/// 开办餐饮店一件事: three departments act on every case.
const MATTER: &str = "YJS-440400-0002";
const ENTERPRISES: usize = 4;
/// Acknowledged requests before the kill: enough that submissions and all
/// kinds of department actions are under way when it comes; a random
/// extra of up to `KILL_JITTER` moves the kill around between runs.
const KILL_AFTER_ACKS: usize = 120;
const KILL_JITTER: usize = 80;
const LOAD_TIMEOUT: Duration = Duration::from_secs(180);

/// What the server acknowledged with a 2xx answer.
#[derive(Clone, Debug)]
enum Ack {
    Submitted {
        enterprise: usize,
        key: String,
        case_id: String,
    },
    Acted {
        case_id: String,
        department: String,
        action: &'static str,
    },
}

#[derive(Default)]
struct Log {
    acks: Mutex<Vec<Ack>>,
    ack_count: AtomicUsize,
    /// Submissions sent without an answer (cut off by the kill).
    unanswered: Mutex<Vec<(usize, String)>>,
    /// Cases acknowledged as submitted, in order: the departments' work list.
    cases: Mutex<Vec<String>>,
    /// Per department: how many of `cases` it has finished.
    done: [AtomicUsize; 3],
    /// Answers that are neither 2xx nor a dropped connection: a failure.
    unexpected: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Log {
    fn ack(&self, a: Ack) {
        self.acks.lock().unwrap().push(a);
        self.ack_count.fetch_add(1, Ordering::SeqCst);
    }
}

fn enterprise_uscc(k: usize) -> Uscc {
    Uscc::from_body(&format!("91440400MA4CR{k:04}")).unwrap()
}

/// Enterprises, one enterprise account each, one staff account per
/// department of the matter, written straight into the new database.
async fn prepare(url: &str, departments: &[String]) -> Res<()> {
    let store = Store::connect(url).await?;
    let rd = store.reference_or_default(&ReferenceDocs::zhuhai()).await?;
    let sys = Actor::system("崩溃恢复测试");
    let mut accounts = Vec::new();
    for k in 0..ENTERPRISES {
        let e = EnterpriseDraft {
            uscc: enterprise_uscc(k).to_string(),
            name: format!("珠海崩溃测试{k}号餐饮有限公司"),
            area: "金湾区".into(),
            industry: "62".into(),
            ..Default::default()
        }
        .validate(&rd)
        .map_err(|e| format!("{e:?}"))?;
        store.upsert_enterprise(&e, &sys).await?;
        accounts.push((
            format!("ent{k}"),
            Role::Enterprise,
            Some(enterprise_uscc(k)),
            None,
        ));
    }
    for (i, d) in departments.iter().enumerate() {
        accounts.push((format!("dept{i}"), Role::Staff, None, Some(d.clone())));
    }
    for (u, role, enterprise, department) in accounts {
        let a = NewAccount {
            username: Username::parse(&u)?,
            display_name: u.clone(),
            password: PASSWORD.into(),
            role,
            enterprise,
            department,
        };
        store.create_account(&a, &sys).await?;
    }
    store.close().await;
    Ok(())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn token(base: &str, user: &str) -> Res<String> {
    let v: Value = http()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["token"].as_str().ok_or("no token")?.to_owned())
}

async fn post(
    c: &reqwest::Client,
    token: &str,
    url: String,
    body: &Value,
) -> reqwest::Result<(StatusCode, Value)> {
    let r = c.post(url).bearer_auth(token).json(body).send().await?;
    let status = r.status();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

fn all_materials() -> Vec<String> {
    let c = Catalogue::zhuhai();
    c.combined_matter(MATTER)
        .unwrap()
        .materials(&c)
        .into_iter()
        .map(|m| m.material.key)
        .collect()
}

/// Cases submitted but not yet finished by every department.
const BACKLOG: usize = 6;

/// An enterprise submits case after case until the server goes away,
/// keeping only a small backlog so the departments' actions (and the
/// automatic issue after the last approval) are part of the load too.
async fn enterprise_client(base: String, round: usize, k: usize, token: String, log: Arc<Log>) {
    let c = http();
    let materials = all_materials();
    for i in 0.. {
        loop {
            if log.stop.load(Ordering::SeqCst) {
                return;
            }
            let slowest = log.done.iter().map(|d| d.load(Ordering::SeqCst)).min();
            if log.cases.lock().unwrap().len() < slowest.unwrap_or(0) + BACKLOG {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let key = format!("crash-r{round}-ent{k}-{i}");
        let body = json!({"matter": MATTER, "idempotency_key": key, "materials": materials});
        match post(&c, &token, format!("{base}/api/v1/cases"), &body).await {
            Ok((s, v)) if s.is_success() => {
                let case_id = v["id"].as_str().unwrap_or_default().to_owned();
                log.cases.lock().unwrap().push(case_id.clone());
                log.ack(Ack::Submitted {
                    enterprise: k,
                    key,
                    case_id,
                });
            }
            Ok((s, v)) => {
                log.unexpected
                    .lock()
                    .unwrap()
                    .push(format!("ent{k} submit {key}: {s} {v}"));
                return;
            }
            Err(_) => {
                // The server died with this request in flight.
                log.unanswered.lock().unwrap().push((k, key));
                return;
            }
        }
    }
}

/// A department works through the submitted cases in order: accepts each,
/// then approves it.
async fn department_client(
    base: String,
    slot: usize,
    department: String,
    token: String,
    log: Arc<Log>,
) {
    let c = http();
    let mut next = 0;
    loop {
        if log.stop.load(Ordering::SeqCst) {
            return;
        }
        let id = log.cases.lock().unwrap().get(next).cloned();
        let Some(id) = id else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        for action in ["accept", "approve"] {
            let url = format!("{base}/api/v1/cases/{id}/actions");
            match post(&c, &token, url, &json!({"action": action})).await {
                Ok((s, _)) if s.is_success() => log.ack(Ack::Acted {
                    case_id: id.clone(),
                    department: department.clone(),
                    action,
                }),
                Ok((s, v)) => {
                    log.unexpected
                        .lock()
                        .unwrap()
                        .push(format!("{department} {action} {id}: {s} {v}"));
                    return;
                }
                Err(_) => return,
            }
        }
        next += 1;
        log.done[slot].store(next, Ordering::SeqCst);
    }
}

fn event_matches(e: &Event, department: &str, action: &str) -> bool {
    match (e, action) {
        (Event::Accept { department: d }, "accept") => d == department,
        (Event::Approve { department: d, .. }, "approve") => d == department,
        _ => false,
    }
}

/// Starts the server, loads it from several clients at once and kills it
/// with SIGKILL in the middle of the load. Returns what was acknowledged
/// and the submissions left without an answer.
async fn load_until_kill(
    guard: &mut Guard,
    url: &str,
    round: usize,
    departments: &[String],
) -> Res<(Vec<Ack>, Vec<(usize, String)>)> {
    let base = guard.start_server_on(&[], Some(url))?;
    let log = Arc::new(Log::default());
    // Log in first (argon2 is slow in a debug build), then start everyone at once.
    let mut ent_tokens = Vec::new();
    for k in 0..ENTERPRISES {
        ent_tokens.push(token(&base, &format!("ent{k}")).await?);
    }
    let mut dept_tokens = Vec::new();
    for i in 0..departments.len() {
        dept_tokens.push(token(&base, &format!("dept{i}")).await?);
    }
    let mut tasks = Vec::new();
    for (k, t) in ent_tokens.into_iter().enumerate() {
        tasks.push(tokio::spawn(enterprise_client(
            base.clone(),
            round,
            k,
            t,
            log.clone(),
        )));
    }
    for (i, (d, t)) in departments.iter().zip(dept_tokens).enumerate() {
        tasks.push(tokio::spawn(department_client(
            base.clone(),
            i,
            d.clone(),
            t,
            log.clone(),
        )));
    }
    let started = Instant::now();
    let kill_after = KILL_AFTER_ACKS + fastrand::usize(..KILL_JITTER);
    while log.ack_count.load(Ordering::SeqCst) < kill_after {
        ensure!(
            started.elapsed() < LOAD_TIMEOUT,
            "only {} acknowledged requests in {LOAD_TIMEOUT:?}",
            log.ack_count.load(Ordering::SeqCst)
        );
        ensure!(
            log.unexpected.lock().unwrap().is_empty(),
            "unexpected answers under load: {:?}",
            log.unexpected.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    guard.kill_server()?;
    let killed_at = log.ack_count.load(Ordering::SeqCst);
    log.stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await?;
    }
    let acks = log.acks.lock().unwrap().clone();
    let unexpected = log.unexpected.lock().unwrap().clone();
    ensure!(
        unexpected.is_empty(),
        "unexpected answers under load: {unexpected:?}"
    );
    // A few answers may still arrive after the kill: sent before it, read after.
    eprintln!(
        "crash: round {round}: killed after {killed_at} acknowledged requests in {:?}; {} acknowledged in all, {} submissions unanswered",
        started.elapsed(),
        acks.len(),
        log.unanswered.lock().unwrap().len()
    );
    let submitted: Vec<&Ack> = acks
        .iter()
        .filter(|a| matches!(a, Ack::Submitted { .. }))
        .collect();
    let acted = acks.len() - submitted.len();
    ensure!(
        !submitted.is_empty() && acted > 0,
        "the load did not mix submissions ({}) and actions ({acted})",
        submitted.len()
    );
    let unanswered = log.unanswered.lock().unwrap().clone();
    Ok((acks, unanswered))
}

/// After a restart: every acknowledged change (of all rounds so far) is
/// there, every stored case is consistent, retries return the same case.
async fn check(base: &str, store: &Store, acks: &[Ack], unanswered: &[(usize, String)]) -> Res<()> {
    let cal = WorkCalendar::official();
    let submitted: Vec<&Ack> = acks
        .iter()
        .filter(|a| matches!(a, Ack::Submitted { .. }))
        .collect();

    // 3. Every acknowledged change is there.
    let mut expected: BTreeMap<String, Vec<(String, &str)>> = BTreeMap::new();
    for a in acks {
        match a {
            Ack::Submitted { case_id, .. } => {
                expected.entry(case_id.clone()).or_default();
            }
            Ack::Acted {
                case_id,
                department,
                action,
            } => expected
                .entry(case_id.clone())
                .or_default()
                .push((department.clone(), action)),
        }
    }
    for (id, actions) in &expected {
        let events = store.case_events(id).await?;
        ensure!(
            !events.is_empty(),
            "acknowledged case {id} is missing after the restart"
        );
        for (department, action) in actions {
            ensure!(
                events
                    .iter()
                    .any(|e| event_matches(&e.event, department, action)),
                "acknowledged {action} by {department} on {id} is missing: {events:?}"
            );
        }
    }

    // 4. Every stored case — acknowledged or cut off — is consistent: its
    //    events are numbered without gaps and its snapshot is their replay.
    let all = store.all_cases(100_000).await?;
    let mut ready = Vec::new();
    for c in &all {
        let events = store.case_events(&c.id).await?;
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        ensure!(
            seqs == (1..=events.len() as i64).collect::<Vec<_>>(),
            "case {} has event numbers {seqs:?}",
            c.id
        );
        let replayed = Case::replay(
            &events
                .iter()
                .map(|e| (e.at, e.event.clone()))
                .collect::<Vec<_>>(),
            &cal,
        )?;
        ensure!(
            &replayed == c,
            "case {}: snapshot differs from the replay of its {} events",
            c.id,
            events.len()
        );
        if c.status == CaseStatus::ReadyToIssue {
            ready.push(c.id.clone());
        }
    }
    ensure!(
        all.len() >= expected.len(),
        "{} cases stored, {} acknowledged",
        all.len(),
        expected.len()
    );
    let issued = all
        .iter()
        .filter(|c| c.status == CaseStatus::Issued)
        .count();
    eprintln!(
        "crash: {} cases stored ({} acknowledged), {issued} issued, all snapshots equal their replays",
        all.len(),
        expected.len()
    );

    // 5. Retried submissions return the same case: acknowledged ones the
    //    case they got, unanswered ones whatever the first retry got.
    let mut tokens = Vec::new();
    for k in 0..ENTERPRISES {
        tokens.push(token(base, &format!("ent{k}")).await?);
    }
    let c = http();
    let materials = all_materials();
    let retry = |k: usize, key: String| {
        let body = json!({"matter": MATTER, "idempotency_key": key, "materials": materials});
        let c = c.clone();
        let token = tokens[k].clone();
        let url = format!("{base}/api/v1/cases");
        async move { post(&c, &token, url, &body).await }
    };
    for a in &submitted {
        let Ack::Submitted {
            enterprise,
            key,
            case_id,
        } = a
        else {
            continue;
        };
        let (s, v) = retry(*enterprise, key.clone()).await?;
        ensure!(
            s == StatusCode::OK && v["id"] == case_id.as_str(),
            "retry of {key}: {s} {v}, expected 200 with {case_id}"
        );
    }
    let before = store.all_cases(100_000).await?.len();
    let mut created = 0;
    for (k, key) in unanswered {
        let (s, first) = retry(*k, key.clone()).await?;
        ensure!(
            s == StatusCode::OK || s == StatusCode::CREATED,
            "retry of unanswered {key}: {s} {first}"
        );
        created += usize::from(s == StatusCode::CREATED);
        let (s, again) = retry(*k, key.clone()).await?;
        ensure!(
            s == StatusCode::OK && again["id"] == first["id"],
            "second retry of {key}: {s} {again}, first gave {first}"
        );
    }
    let after = store.all_cases(100_000).await?.len();
    ensure!(
        after == before + created,
        "retries created {} cases, {created} answered 201",
        after - before
    );
    ensure!(
        ready.is_empty(),
        "cases left 待出件 (approved by every department but never issued): {ready:?}"
    );
    Ok(())
}

/// Kill-and-restart rounds; the checks after each cover every earlier
/// round too, so a restart that loses or damages older data also fails.
const ROUNDS: usize = 3;

async fn run(guard: &mut Guard, url: &str) -> Res<()> {
    let cat = Catalogue::zhuhai();
    let departments = cat.combined_matter(MATTER).unwrap().departments(&cat);
    ensure!(departments.len() == 3, "{MATTER} has {departments:?}");
    prepare(url, &departments).await?;
    let mut acks = Vec::new();
    for round in 0..ROUNDS {
        // 1. Load, kill -9 in the middle of it.
        let (new, unanswered) = load_until_kill(guard, url, round, &departments).await?;
        acks.extend(new);
        // 2. Restart on the same data; 3–5. check.
        let base = guard.start_server_on(&[], Some(url))?;
        let store = Store::connect(url).await?;
        check(&base, &store, &acks, &unanswered).await?;
        store.close().await;
        if round + 1 < ROUNDS {
            guard.kill_server()?;
        } else {
            finish_one(&base, url, &acks, &departments).await?;
        }
    }
    Ok(())
}

/// The restarted server carries on: an acknowledged case still waiting for
/// a department is finished to 已办结.
async fn finish_one(base: &str, url: &str, acks: &[Ack], departments: &[String]) -> Res<()> {
    let store = Store::connect(url).await?;
    let c = http();
    let expected: BTreeSet<&str> = acks
        .iter()
        .map(|a| match a {
            Ack::Submitted { case_id, .. } | Ack::Acted { case_id, .. } => case_id.as_str(),
        })
        .collect();

    // 6. The restarted server carries on: an acknowledged case still
    //    waiting for a department is finished to 已办结.
    let open: BTreeSet<String> = store
        .all_cases(100_000)
        .await?
        .into_iter()
        .filter(|c| !c.status.is_terminal() && c.status != CaseStatus::ReadyToIssue)
        .map(|c| c.id)
        .collect();
    if let Some(id) = expected.iter().find(|id| open.contains(**id)) {
        for (i, d) in departments.iter().enumerate() {
            let t = token(base, &format!("dept{i}")).await?;
            let part = store.case(id).await?.and_then(|c| c.part(d).cloned());
            let state = part.map(|p| p.state.to_string()).unwrap_or_default();
            let actions: &[&str] = match state.as_str() {
                "待受理" => &["accept", "approve"],
                "审查中" => &["approve"],
                _ => &[],
            };
            for action in actions {
                let url = format!("{base}/api/v1/cases/{id}/actions");
                let (s, v) = post(&c, &t, url, &json!({"action": action})).await?;
                ensure!(
                    s.is_success(),
                    "{d} {action} on {id} after restart: {s} {v}"
                );
            }
        }
        let c = store.case(id).await?.ok_or("case vanished")?;
        ensure!(
            c.status == CaseStatus::Issued,
            "{id} after every department approved: {}",
            c.status
        );
    }
    store.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_changes_survive_kill_9() {
    let url = zhengqi_store::testing::fresh_database_url()
        .await
        .expect("a fresh database");
    eprintln!("crash: on {}", zhengqi_store::testing::target());
    let mut guard = Guard::new();
    let result = run(&mut guard, &url).await;
    if let Err(e) = result {
        guard.print_logs();
        panic!("crash recovery: {e}");
    }
}
