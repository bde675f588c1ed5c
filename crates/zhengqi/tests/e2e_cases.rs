//! Browser journey through a combined matter (一件事): the real
//! `zhengqi serve --demo` binary, Debian's headless Chromium over
//! ChromeDriver, four browser sessions at once.
//!
//! The enterprise `qiye` submits 开办餐饮店一件事 through the web form with
//! one 容缺 material left out and the commitment signed; the three
//! departments (`scjg`, `shuiwu`, `zjj`, each in its own session) accept in
//! parallel; two approve while the third asks for a correction; the
//! enterprise sees the request, corrects and supplies the material; the last
//! department approves; the enterprise sees 已办结 and the whole timeline.
//! Every deadline shown is checked against `zhengqi calendar` from the days
//! the timeline records. Takes `docs/screenshot-case.png` (kept there with
//! `ZHENGQI_UPDATE_SCREENSHOTS=1`).
//!
//! Needs what `tests/e2e.rs` needs (`scripts/install-browser`);
//! `ZHENGQI_SKIP_E2E=1` skips it.

#[macro_use]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, Locator};
use zhengqi_domain::approval::catalogue::Catalogue;

const MATTER: &str = "YJS-440400-0002";
const MATTER_NAME: &str = "开办餐饮店一件事";
/// The enterprise of the demo account `qiye`.
const SHOWCASE_NAME: &str = "珠海示范科技有限公司";
/// 经营场所平面布局图: tolerable, to be supplied within 3 working days.
const MISSING: &str = "premises_layout";
const MISSING_NAME: &str = "经营场所平面布局图";
/// (demo account, department code, department name) of the matter's parts.
const STAFF: [(&str, &str, &str); 3] = [
    ("scjg", "SSJJ", "市市场监督管理局"),
    ("shuiwu", "SSHUIJ", "市水务局"),
    ("zjj", "SZJJ", "市住房城乡建设局"),
];
/// The department that asks for a correction (index into STAFF).
const CORRECTING: usize = 1;
const CORRECTION: &str = "请补充排水口位置坐标图";

/// `zhengqi calendar …`: the CLI over `WorkCalendar`.
fn calendar(args: &[&str]) -> Res<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
        .arg("calendar")
        .args(args)
        .env("ZHENGQI_HOLIDAYS", TEST_HOLIDAYS)
        .env_remove("DATABASE_URL")
        .output()?;
    ensure!(
        out.status.success(),
        "zhengqi calendar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// The cells of the `#parts` table, one row per department.
async fn parts(c: &Client) -> Res<Vec<Vec<String>>> {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#parts"))
        .await?;
    let v = c
        .execute(
            "return [...document.querySelectorAll('#parts tbody tr')]\
             .map(r => [...r.cells].map(td => td.innerText.trim()));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// The row of one department: [部门, 事项, 状态, 办结时限, 剩余工作日, 意见].
async fn part_of(c: &Client, dept_name: &str) -> Res<Vec<String>> {
    parts(c)
        .await?
        .into_iter()
        .find(|r| r.first().map(String::as_str) == Some(dept_name))
        .ok_or_else(|| format!("no row for {dept_name} in #parts").into())
}

/// Waits (reloading nothing: the action's redirect does that) until the
/// department's part shows `state`.
async fn wait_part_state(c: &Client, dept_name: &str, state: &str) -> Res<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let row = part_of(c, dept_name).await;
        if let Ok(r) = &row
            && r.get(2).map(String::as_str) == Some(state)
        {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{dept_name}: part never reached {state:?} (last: {row:?}) at {:?}",
            current_path(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls the text of `css` until `ok` holds. A page being replaced by an
/// action's redirect makes elements vanish or go stale: that is "not yet".
async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> Res<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = match c.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.ok(),
            Err(_) => None,
        };
        if let Some(t) = &text
            && ok(t)
        {
            return Ok(t.clone());
        }
        ensure!(
            Instant::now() < deadline,
            "{css} on {:?} is {text:?}: not what was expected",
            current_path(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_case_status(c: &Client, want: &str) -> Res<()> {
    wait_text(c, "#case-status", |s| s.trim() == want).await?;
    Ok(())
}

async fn timeline(c: &Client) -> Res<Vec<String>> {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#timeline"))
        .await?;
    let v = c
        .execute(
            "return [...document.querySelectorAll('#timeline li')].map(l => l.innerText.trim());",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

async fn click(c: &Client, css: &str) -> Res<()> {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(el) => Ok(el.click().await?),
        Err(e) => Err(format!("{css} not found on {:?}: {e}", current_path(c).await).into()),
    }
}

async fn logged_in(c: &Client, base: &str, user: &str) -> Res<()> {
    login(c, base, user, PASSWORD).await?;
    let who = text_of(c, "#who").await?;
    ensure!(!who.is_empty(), "{user}: no #who after login");
    Ok(())
}

/// The commitment text the catalogue gives for the left-out material.
fn expected_commitment() -> String {
    let c = Catalogue::zhuhai();
    let m = c
        .combined_matter(MATTER)
        .unwrap()
        .materials(&c)
        .into_iter()
        .find(|m| m.material.key == MISSING)
        .unwrap()
        .material;
    m.commitment_template
        .unwrap()
        .replace("{期限}", &m.supplement_days.unwrap().to_string())
        .replace("{材料名称}", &m.name)
}

/// Promised working days of a department's part (the longest of its items).
fn promised_days(dept: &str) -> u32 {
    let c = Catalogue::zhuhai();
    c.combined_matter(MATTER)
        .unwrap()
        .service_items(&c)
        .iter()
        .filter(|i| i.department == dept)
        .map(|i| i.promised_days)
        .max()
        .unwrap()
}

/// The enterprise fills in the form; returns the case id.
async fn submit(c: &Client, base: &str) -> Res<String> {
    logged_in(c, base, "qiye").await?;
    c.goto(&format!("{base}/cases")).await?;
    click(c, "#new-case").await?;
    let select = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("select#matter"))
        .await?;
    select.select_by_value(MATTER).await?;
    click(c, "form.inline button[type=submit]").await?;
    // Waiting on what only the next page has: the old one may still be there.
    let body = wait_text(c, "main", |t| t.contains("并联办理"))
        .await
        .map_err(|e| format!("the materials of {MATTER_NAME} never showed: {e}"))?;
    ensure!(
        body.contains(MATTER_NAME) && body.contains("3 个部门并联办理"),
        "the form does not present {MATTER_NAME} with its three departments: {body:?}"
    );
    // The commitment the applicant is asked to sign is on the page.
    let letter = text_of(c, "#commitment-letter").await?;
    let commitment = expected_commitment();
    ensure!(
        letter.contains("容缺受理承诺书") && letter.contains(&commitment),
        "#commitment-letter lacks {commitment:?}: {letter:?}"
    );
    // The letter prints; the form around it does not (which also shows the check can tell).
    print_hides_nothing_of(c, &["#commitment-letter"]).await?;
    ensure!(
        !print_hidden(c, &["#submit-case"]).await?.is_empty(),
        "the submit button would be printed"
    );
    let missing = format!("input[name=material][value={MISSING}]");
    click(c, &missing).await?;
    // Without the commitment: refused, with the choices kept.
    click(c, "#submit-case").await?;
    let err = text_of(c, "#submit-error").await?;
    ensure!(err.contains("承诺书"), "#submit-error is {err:?}");
    let still_unticked = !c.find(Locator::Css(&missing)).await?.is_selected().await?;
    ensure!(
        still_unticked,
        "the refused form ticked {MISSING} again behind the user's back"
    );
    click(c, "#commitment").await?;
    click(c, "#submit-case").await?;
    wait_case_status(c, "待受理").await?;
    let path = current_path(c).await;
    let id = path
        .strip_prefix("/cases/")
        .filter(|id| id.starts_with("ZQ"))
        .ok_or_else(|| format!("after submitting the browser is at {path:?}"))?
        .to_owned();
    // The signed commitment shows on the case page, outside forms and
    // .no-print, so the printed page carries it.
    let signed = text_of(c, "#commitment").await?;
    ensure!(
        signed.contains(MISSING_NAME) && signed.contains(&commitment),
        "#commitment is {signed:?}"
    );
    print_hides_nothing_of(c, &["#commitment", "#parts", "#timeline"]).await?;
    Ok(id)
}

/// Which of `selectors` the page's `@media print` rules hide (through the
/// element or an ancestor). Fails if the page has no print rules at all.
async fn print_hidden(c: &Client, selectors: &[&str]) -> Res<Vec<String>> {
    let v = c
        .execute(
            "const rules = [];
             for (const sheet of document.styleSheets)
               for (const r of sheet.cssRules)
                 if (r.media && [...r.media].includes('print'))
                   for (const s of r.cssRules)
                     if (s.style && s.style.display === 'none') rules.push(s.selectorText);
             const hidden = [];
             for (const sel of arguments[0]) {
               const el = document.querySelector(sel);
               if (!el) { hidden.push(sel + ' (missing)'); continue; }
               for (let n = el; n; n = n.parentElement)
                 for (const r of rules) if (n.matches(r)) hidden.push(sel + ' by ' + r);
             }
             return [rules.length, hidden];",
            vec![serde_json::json!(selectors)],
        )
        .await?;
    let rules = v[0].as_u64().unwrap_or(0);
    ensure!(rules > 0, "the page has no print rules to check");
    Ok(serde_json::from_value(v[1].clone())?)
}

/// The printed page carries every one of `selectors`.
async fn print_hides_nothing_of(c: &Client, selectors: &[&str]) -> Res<()> {
    let hidden = print_hidden(c, selectors).await?;
    ensure!(hidden.is_empty(), "hidden when printing: {hidden:?}");
    Ok(())
}

/// A department finds the case in its queue and accepts it.
async fn accept(c: &Client, base: &str, (user, _, name): (&str, &str, &str), id: &str) -> Res<()> {
    logged_in(c, base, user).await?;
    c.goto(&format!("{base}/cases")).await?;
    let queue = text_of(c, "#case-list").await?;
    ensure!(queue.contains(id), "{user}: case {id} not in the queue");
    click(c, &format!("#case-list a[href='/cases/{id}']")).await?;
    wait_text(c, "main", |t| t.contains("本部门操作"))
        .await
        .map_err(|e| format!("{user}: no department actions on the case page: {e}"))?;
    click(c, "#act-accept").await?;
    wait_part_state(c, name, "审查中").await?;
    // Only its own part changed hands; the others may or may not have yet.
    Ok(())
}

async fn approve(c: &Client, (user, _, name): (&str, &str, &str)) -> Res<()> {
    click(c, "#act-approve").await?;
    wait_part_state(c, name, "已批准")
        .await
        .map_err(|e| format!("{user}: {e}"))?;
    // A decided part offers no more actions, only the reason why.
    let note = wait_text(c, "#dept-note", |t| !t.is_empty()).await?;
    ensure!(
        note.contains("已作出决定") || note.contains("已办结"),
        "{user}: #dept-note is {note:?}"
    );
    for id in [
        "#act-accept",
        "#act-approve",
        "#act-correction",
        "#act-reject",
    ] {
        ensure!(
            c.find_all(Locator::Css(id)).await?.is_empty(),
            "{user}: {id} is still offered after approving"
        );
    }
    Ok(())
}

async fn ask_correction(c: &Client, (user, _, name): (&str, &str, &str)) -> Res<()> {
    let input = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("form input[name=text][aria-label='补正要求']"))
        .await?;
    input.send_keys(CORRECTION).await?;
    click(c, "#act-correction").await?;
    wait_part_state(c, name, "待补正")
        .await
        .map_err(|e| format!("{user}: {e}").into())
}

/// The day (YYYY-MM-DD) of the first timeline line containing `what`.
fn day_of(lines: &[String], what: &str) -> Res<String> {
    lines
        .iter()
        .find(|l| l.contains(what))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| format!("no timeline line with {what:?}: {lines:?}").into())
}

/// Every deadline on the page against `zhengqi calendar`, from the days the
/// timeline records: acceptance + promised days, pushed back by the working
/// days the correction took; the 容缺 material due 3 working days after the
/// first acceptance.
async fn check_deadlines(c: &Client) -> Res<()> {
    let lines = timeline(c).await?;
    let mut first_accept: Option<String> = None;
    for (i, (_, code, name)) in STAFF.iter().enumerate() {
        let accepted = day_of(&lines, &format!("{name} 受理"))?;
        if first_accept.as_ref().is_none_or(|f| accepted < *f) {
            first_accept = Some(accepted.clone());
        }
        let mut expected =
            calendar(&["add-workdays", &accepted, &promised_days(code).to_string()])?;
        if i == CORRECTING {
            let since = day_of(&lines, &format!("{name} 要求补正"))?;
            let done = day_of(&lines, &format!("向{name}补正材料"))?;
            let paused: i64 = calendar(&["workdays", &since, &done])?.parse()?;
            if paused > 0 {
                expected = calendar(&["add-workdays", &expected, &paused.to_string()])?;
            }
        }
        let shown = part_of(c, name).await?;
        ensure!(
            shown.get(3) == Some(&expected),
            "{name}: deadline shown {:?}, WorkCalendar gives {expected} (accepted {accepted})",
            shown.get(3)
        );
    }
    let first = first_accept.ok_or("no acceptance")?;
    let due = calendar(&["add-workdays", &first, "3"])?;
    let signed = text_of(c, "#commitment").await?;
    ensure!(
        signed.contains(&format!("补交期限：{due}")),
        "#commitment should give the due date {due}: {signed:?}"
    );
    Ok(())
}

async fn journey(sessions: &[Client], base: &str) -> Res<()> {
    let ent = &sessions[0];
    let staff = &sessions[1..];

    // 1. The enterprise submits with one 容缺 material missing.
    let id = submit(ent, base).await?;
    eprintln!("e2e-cases: submitted {id}");

    // 2. The three departments accept at the same time, each in its own session.
    let (a, b, c) = tokio::join!(
        accept(&staff[0], base, STAFF[0], &id),
        accept(&staff[1], base, STAFF[1], &id),
        accept(&staff[2], base, STAFF[2], &id),
    );
    a?;
    b?;
    c?;

    // 3. Two approve while the third asks for a correction, again at once.
    let (a, b, c) = tokio::join!(
        approve(&staff[0], STAFF[0]),
        ask_correction(&staff[CORRECTING], STAFF[CORRECTING]),
        approve(&staff[2], STAFF[2]),
    );
    a?;
    b?;
    c?;

    // 4. The enterprise sees the request on its case page.
    let (_, code, name) = STAFF[CORRECTING];
    ent.goto(&format!("{base}/cases/{id}")).await?;
    wait_case_status(ent, "待补正").await?;
    let row = part_of(ent, name).await?;
    ensure!(
        row.get(5).is_some_and(|r| r.contains(CORRECTION)),
        "the enterprise does not see {name}'s request: {row:?}"
    );
    let lines = timeline(ent).await?;
    ensure!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{name} 要求补正：{CORRECTION}"))),
        "timeline lacks the correction request: {lines:?}"
    );
    let owed = text_of(ent, "main").await?;
    ensure!(
        owed.contains(&format!("待补交容缺材料：{MISSING_NAME}")),
        "the owed material is not shown: {owed:?}"
    );

    // 5. It corrects and supplies the missing material.
    click(ent, &format!("#corrected-{code}")).await?;
    wait_part_state(ent, name, "审查中").await?;
    click(ent, &format!("#supply-{MISSING}")).await?;
    wait_text(ent, "#commitment", |t| t.contains("已于")).await?;
    ensure!(
        ent.find_all(Locator::Css(&format!("#supply-{MISSING}")))
            .await?
            .is_empty(),
        "the supply button is still offered"
    );

    // 6. The last department approves: the platform issues the results.
    let s = &staff[CORRECTING];
    s.goto(&format!("{base}/cases/{id}")).await?;
    approve(s, STAFF[CORRECTING]).await?;
    wait_case_status(s, "已办结").await?;

    // 7. The enterprise sees the result and the whole timeline.
    ent.goto(&format!("{base}/cases/{id}")).await?;
    wait_case_status(ent, "已办结").await?;
    let lines = timeline(ent).await?;
    let expected: Vec<String> = [
        "提交申请（涉及3个部门，容缺材料1项，已签署承诺书）".to_owned(),
        "受理".into(),
        "受理".into(),
        "受理".into(),
        "审批通过：同意".into(),
        "审批通过：同意".into(),
        format!("要求补正：{CORRECTION}"),
        format!("向{name}补正材料"),
        format!("补交容缺材料：{MISSING_NAME}"),
        "审批通过：同意".into(),
        "办结出件".into(),
    ]
    .into_iter()
    .collect();
    ensure!(
        lines.len() == expected.len(),
        "timeline has {} lines, expected {}: {lines:?}",
        lines.len(),
        expected.len()
    );
    // The parallel steps may land in either order; the kinds are counted per phase.
    let mut got: Vec<String> = lines
        .iter()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap_or_default().to_owned())
        .collect();
    let mut want = expected.clone();
    got[4..7].sort();
    want[4..7].sort();
    ensure!(
        got == want,
        "timeline {lines:?}, expected events {expected:?}"
    );
    ensure!(
        lines[0].contains(SHOWCASE_NAME),
        "the timeline names the applicant by code, not as {SHOWCASE_NAME}: {lines:?}"
    );
    for (_, code, dept) in STAFF {
        ensure!(
            !lines.iter().any(|l| l.contains(code)),
            "the timeline shows the department code {code} instead of {dept}: {lines:?}"
        );
        ensure!(
            lines.iter().any(|l| l.contains(&format!("{dept} 受理"))),
            "no acceptance by {dept}: {lines:?}"
        );
    }
    for row in parts(ent).await? {
        ensure!(
            row.get(2).map(String::as_str) == Some("已批准"),
            "a part is not approved: {row:?}"
        );
    }
    check_deadlines(ent).await?;
    ent.goto(&format!("{base}/cases")).await?;
    let list = text_of(ent, "#case-list").await?;
    ensure!(
        list.lines()
            .any(|l| l.contains(&id) && l.contains("已办结")),
        "我的办件 does not show {id} as 已办结: {list:?}"
    );

    // 8. The screenshot of the final case page.
    ent.goto(&format!("{base}/cases/{id}")).await?;
    wait_case_status(ent, "已办结").await?;
    ensure!(
        ent.find_all(Locator::Css("#applicant-actions"))
            .await?
            .is_empty(),
        "a finished case still offers the applicant actions"
    );
    // The whole page, timeline included: as tall as the document.
    let height = ent
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await?
        .as_u64()
        .unwrap_or(900)
        .clamp(900, 2400);
    ent.set_window_rect(0, 0, 1280, height as u32 + 140).await?;
    let png = ent.screenshot().await?;
    common::save_screenshot("screenshot-case.png", &png)?;

    // 9. On a phone the case page and the form fit the screen.
    ent.set_window_rect(0, 0, 390, 844).await?;
    ent.goto(&format!("{base}/cases/{id}")).await?;
    wait_case_status(ent, "已办结").await?;
    no_horizontal_overflow(ent, "the case page").await?;
    ent.goto(&format!("{base}/cases/new?matter={MATTER}"))
        .await?;
    wait_text(ent, "#submit-case", |t| !t.is_empty()).await?;
    no_horizontal_overflow(ent, "the submission form").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_journey_combined_matter() {
    if !browser_wanted() {
        return;
    }
    let started = Instant::now();
    let mut guard = Guard::new();
    let base = match guard.start_server() {
        Ok(b) => b,
        Err(e) => panic!("could not start zhengqi serve: {e}"),
    };
    eprintln!(
        "e2e-cases: server ready at {base} after {:?}",
        started.elapsed()
    );
    let driver = match guard.start_chromedriver() {
        Ok(d) => d,
        Err(e) => panic!("could not start {CHROMEDRIVER}: {e}"),
    };
    let names = ["qiye", STAFF[0].0, STAFF[1].0, STAFF[2].0];
    let mut sessions = Vec::new();
    for n in names {
        sessions.push(new_session(&guard, &driver, n).await);
    }
    let result = journey(&sessions, &base).await;
    if result.is_err() {
        for (c, n) in sessions.iter().zip(names) {
            report_failure(c, n).await;
        }
    }
    for c in sessions {
        let _ = c.close().await;
    }
    if let Err(e) = result {
        panic!("combined-matter journey failed: {e}");
    }
    eprintln!("e2e-cases: journey passed in {:?}", started.elapsed());
    drop(guard);
}
