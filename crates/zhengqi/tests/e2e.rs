//! Browser end-to-end test: the real `zhengqi serve --demo` binary on a fresh
//! SQLite database, driven through Debian's headless Chromium over
//! ChromeDriver (WebDriver, via fantoccini).
//!
//! Needs /usr/bin/chromium, /usr/bin/chromedriver and CJK fonts: run
//! `scripts/install-browser`. Without them the test fails (it does not
//! silently pass) unless `ZHENGQI_SKIP_E2E=1` is set.
//!
//! The journey also takes `docs/screenshot.png`, the picture the README
//! shows (kept there with `ZHENGQI_UPDATE_SCREENSHOTS=1`).

#[macro_use]
mod common;

use std::time::Instant;

use common::*;
use fantoccini::{Client, Locator};

const SHOWCASE_NAME: &str = "珠海示范科技有限公司";
const GREE_USCC: &str = "91440400192548256N";
const GREE_NAME: &str = "珠海格力电器股份有限公司";

async fn journey(c: &Client, base: &str) -> Res<()> {
    // 1. The login page, then a wrong password.
    c.goto(&format!("{base}/login")).await?;
    ensure!(
        c.title().await?.contains("登录"),
        "unexpected /login title {:?}",
        c.title().await?
    );
    login(c, base, "qiye", "wrong-password").await?;
    let err = text_of(c, "#login-error").await?;
    ensure!(
        err.contains("用户名或密码错误"),
        "#login-error says {err:?}, expected 用户名或密码错误"
    );
    ensure!(
        current_path(c).await == "/login",
        "a failed login left /login"
    );

    // 2. The right password: the enterprise user lands on 我的企业.
    login(c, base, "qiye", PASSWORD).await?;
    let name = text_of(c, "#enterprise-name").await?;
    ensure!(
        name.contains(SHOWCASE_NAME),
        "#enterprise-name is {name:?}, expected {SHOWCASE_NAME}"
    );
    let path = current_path(c).await;
    ensure!(
        path == "/me",
        "after login the browser is at {path:?}, expected /me"
    );
    let uscc = text_of(c, "#enterprise-uscc").await?;
    ensure!(uscc.trim().len() == 18, "#enterprise-uscc is {uscc:?}");
    let who = text_of(c, "#who").await?;
    ensure!(
        who.contains("示范企业经办人"),
        "#who is {who:?}, expected the display name 示范企业经办人"
    );
    let rows = c.find_all(Locator::Css("#indicators tbody tr")).await?;
    let indicators = text_of(c, "#indicators").await?;
    ensure!(
        !rows.is_empty() && !indicators.contains("暂无指标数据"),
        "#indicators has no rows: {indicators:?}"
    );
    ensure!(
        indicators.contains("市税务局"),
        "#indicators names no source department (市税务局): {indicators:?}"
    );
    ensure!(
        !body_text(c).await?.contains(GREE_NAME),
        "another enterprise's name appears on /me"
    );

    // 3. The README's screenshot.
    let png = c.screenshot().await?;
    common::save_screenshot("screenshot.png", &png)?;

    // 4. Another enterprise's page: 404 page, and nothing of 格力 shown.
    c.goto(&format!("{base}/enterprises/{GREE_USCC}")).await?;
    let msg = text_of(c, "#error-message").await?;
    ensure!(!msg.trim().is_empty(), "#error-message is empty");
    let body = body_text(c).await?;
    ensure!(
        !body.contains(GREE_NAME) && !body.contains("格力电器"),
        "an enterprise user sees 格力's page: {body:?}"
    );
    ensure!(
        c.find_all(Locator::Css("#enterprise-name"))
            .await?
            .is_empty(),
        "/enterprises/{GREE_USCC} shows #enterprise-name to qiye"
    );

    // 5. The registry list is not for enterprise users.
    c.goto(&format!("{base}/enterprises")).await?;
    let msg = text_of(c, "#error-message").await?;
    ensure!(
        !msg.trim().is_empty(),
        "#error-message is empty on /enterprises"
    );
    let body = body_text(c).await?;
    ensure!(
        !body.contains(GREE_NAME),
        "an enterprise user sees the registry: {body:?}"
    );

    // 6. Log out from 我的企业.
    c.goto(&format!("{base}/me")).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#logout"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#login-btn"))
        .await?;
    let path = current_path(c).await;
    ensure!(path == "/login", "after logout the browser is at {path:?}");
    c.goto(&format!("{base}/me")).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#login-btn"))
        .await
        .map_err(|e| format!("/me after logout did not lead to the login form: {e}"))?;

    // 7. A phone-sized viewport: log in again, nothing wider than the screen.
    c.set_window_rect(0, 0, 390, 844).await?;
    let inner = c.execute("return window.innerWidth;", vec![]).await?;
    let inner = inner.as_f64().unwrap_or(0.0);
    ensure!(
        inner > 0.0 && inner <= 420.0,
        "could not narrow the viewport: innerWidth is {inner}"
    );
    eprintln!("e2e: mobile check at innerWidth {inner}px");
    no_horizontal_overflow(c, "/login").await?;
    login(c, base, "qiye", PASSWORD).await?;
    let name = text_of(c, "#enterprise-name").await?;
    ensure!(
        name.contains(SHOWCASE_NAME),
        "mobile: #enterprise-name is {name:?}"
    );
    no_horizontal_overflow(c, "/me").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_journey_enterprise_user() {
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
