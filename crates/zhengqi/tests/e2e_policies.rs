//! Browser end-to-end test of 适合我的政策: the real `zhengqi serve --demo`
//! binary on a fresh SQLite database (which runs the initial policy match),
//! driven through Debian's headless Chromium over ChromeDriver (WebDriver,
//! via fantoccini), with the harness shared in `tests/common`.
//!
//! Needs /usr/bin/chromium, /usr/bin/chromedriver and CJK fonts: run
//! `scripts/install-browser`. Without them the test fails (it does not
//! silently pass) unless `ZHENGQI_SKIP_E2E=1` is set.
//!
//! The journey also takes `docs/screenshot-policies.png`, the picture the
//! README shows for the policy match (kept there with
//! `ZHENGQI_UPDATE_SCREENSHOTS=1`).

#[macro_use]
mod common;

use std::time::Instant;

use common::*;
use fantoccini::{Client, Locator};

const SHOWCASE_NAME: &str = "珠海示范科技有限公司";
const GREE_NAME: &str = "珠海格力电器股份有限公司";

async fn journey(c: &Client, base: &str) -> Res<()> {
    // 1. qiye logs in; the initial match at serve start left push notices.
    login(c, base, "qiye", PASSWORD).await?;
    let name = text_of(c, "#enterprise-name").await?;
    ensure!(
        name.contains(SHOWCASE_NAME),
        "#enterprise-name is {name:?}, expected {SHOWCASE_NAME}"
    );
    let unread = text_of(c, "#unread-count").await?;
    let unread: i64 = unread.trim().parse().unwrap_or(0);
    ensure!(
        unread >= 2,
        "the unread badge shows {unread}, expected >= 2"
    );

    // 2. 适合我的政策 from 我的企业: matched policies with amounts and reasons.
    c.find(Locator::Css("#matched-policies"))
        .await?
        .click()
        .await?;
    let matched = text_of(c, "#matched").await?;
    ensure!(
        current_path(c).await == "/me/policies",
        "#matched-policies led to {:?}",
        current_path(c).await
    );
    for want in ["免申即享", "即申即享", "300,000元", "高新技术企业", "✓"] {
        ensure!(
            matched.contains(want),
            "#matched lacks {want:?}: {matched:?}"
        );
    }
    ensure!(
        !body_text(c).await?.contains(GREE_NAME),
        "another enterprise's name appears on /me/policies"
    );
    let png = c.screenshot().await?;
    common::save_screenshot("screenshot-policies.png", &png)?;

    // 3. The 即申即享 policy's explanation (the second match: 2万 < 30万).
    let links = c.find_all(Locator::Css("#matched a.policy-link")).await?;
    ensure!(
        links.len() >= 2,
        "{} matched policies, expected >= 2",
        links.len()
    );
    let href = links[1].attr("href").await?.unwrap_or_default();
    links[1].click().await?;
    let verdict = text_of(c, "#verdict").await?;
    ensure!(verdict.contains("符合"), "#verdict is {verdict:?}");
    let amount = text_of(c, "#amount").await?;
    ensure!(amount.contains("元"), "#amount is {amount:?}");
    let formula = text_of(c, "#amount-formula").await?;
    ensure!(!formula.trim().is_empty(), "#amount-formula is empty");
    let conditions = text_of(c, "#conditions").await?;
    for want in ["✓", "从业人员", "来源：", "到达"] {
        ensure!(
            conditions.contains(want),
            "#conditions lacks {want:?}: {conditions:?}"
        );
    }

    // 4. 立即申请: eligible, so decided at once.
    c.find(Locator::Css("#apply-btn")).await?.click().await?;
    let msg = text_of(c, "#message").await?;
    ensure!(msg.contains("已通过"), "#message after applying is {msg:?}");
    ensure!(
        c.find_all(Locator::Css("#apply-btn")).await?.is_empty(),
        "the apply button is still there after applying"
    );

    // 5. The inbox lists the pushes and reading it clears the badge.
    c.find(Locator::Css("#nav-inbox")).await?.click().await?;
    let inbox = text_of(c, "#inbox").await?;
    ensure!(
        inbox.contains("本企业符合") && inbox.contains("元"),
        "#inbox is {inbox:?}"
    );
    ensure!(
        c.find_all(Locator::Css("#unread-count")).await?.is_empty(),
        "the unread badge is still shown on the inbox"
    );

    // 6. A phone-sized viewport: the list and the explanation fit.
    c.set_window_rect(0, 0, 390, 844).await?;
    let inner = c.execute("return window.innerWidth;", vec![]).await?;
    let inner = inner.as_f64().unwrap_or(0.0);
    ensure!(
        inner > 0.0 && inner <= 420.0,
        "could not narrow the viewport: innerWidth is {inner}"
    );
    eprintln!("e2e: mobile check at innerWidth {inner}px");
    for path in ["/me/policies", href.as_str(), "/me/inbox", "/me/awards"] {
        c.goto(&format!("{base}{path}")).await?;
        text_of(c, "h1").await?;
        no_horizontal_overflow(c, path).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_journey_matched_policies() {
    if !browser_wanted() {
        return;
    }
    let started = Instant::now();
    let mut guard = Guard::new();
    let base = match guard.start_server() {
        Ok(b) => b,
        Err(e) => panic!("could not start zhengqi serve: {e}"),
    };
    eprintln!("e2e: server ready at {base} after {:?}", started.elapsed());
    let driver = match guard.start_chromedriver() {
        Ok(d) => d,
        Err(e) => panic!("could not start {CHROMEDRIVER}: {e}"),
    };
    let client = new_session(&guard, &driver, "qiye").await;

    let result = journey(&client, &base).await;
    if result.is_err() {
        report_failure(&client, "qiye").await;
    }
    let _ = client.close().await;
    if let Err(e) = result {
        panic!("browser journey failed: {e}");
    }
    eprintln!("e2e: journey passed in {:?}", started.elapsed());
    drop(guard);
}
