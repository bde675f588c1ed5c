//! Browser end-to-end test of 适合我的政策: the real `zhengqi serve --demo`
//! binary on a fresh SQLite database (which runs the initial policy match),
//! driven through Debian's headless Chromium over ChromeDriver (WebDriver,
//! via fantoccini). The harness is the one of `tests/e2e.rs`.
//!
//! Needs /usr/bin/chromium, /usr/bin/chromedriver and CJK fonts: run
//! `scripts/install-browser`. Without them the test fails (it does not
//! silently pass) unless `ZHENGQI_SKIP_E2E=1` is set.
//!
//! The journey also writes `docs/screenshot-policies.png`, the picture the
//! README shows for the policy match.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "zhengqi2026";
const SHOWCASE_NAME: &str = "珠海示范科技有限公司";
const GREE_NAME: &str = "珠海格力电器股份有限公司";
/// Demo seeding in a debug build on 2 busy cores can take a while.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(300);
const WAIT: Duration = Duration::from_secs(20);

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Returns an error (instead of panicking) so the browser session is still
/// closed cleanly before the test fails.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

/// Owns everything the test started: the server, ChromeDriver (and through
/// its process group the browser) and the temporary directory. Dropping it
/// stops them all; when the test is failing it first prints their logs.
struct Guard {
    dir: PathBuf,
    server: Option<Child>,
    driver: Option<Child>,
}

impl Guard {
    fn new() -> Guard {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("zhengqi-e2e-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).expect("create temp dir");
        Guard {
            dir,
            server: None,
            driver: None,
        }
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn print_logs(&self) {
        for name in ["server.log", "chromedriver.log"] {
            let text = fs::read_to_string(self.log(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!("----- {name} (last {} lines) -----", tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }

    fn start_server(&mut self) -> Res<String> {
        let port = free_port()?;
        let log = fs::File::create(self.log("server.log"))?;
        let child = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
            .args(["serve", "--demo", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            // Always SQLite in the temp dir, never a developer's or CI's database.
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.server = Some(child);
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        for path in ["/healthz", "/login"] {
            loop {
                if let Some(status) = self
                    .server
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    return Err(format!("zhengqi serve exited early ({status})").into());
                }
                let status = http_status(port, path);
                if status == Some(200) {
                    break;
                }
                ensure!(
                    Instant::now() < deadline,
                    "zhengqi serve: GET {path} did not answer 200 within {:?} (last answer: {status:?})",
                    SERVER_START_TIMEOUT
                );
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        Ok(base)
    }

    fn start_chromedriver(&mut self) -> Res<String> {
        let port = free_port()?;
        let log = fs::File::create(self.log("chromedriver.log"))?;
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group, so Drop can stop the browser with it.
            .process_group(0)
            .spawn()?;
        self.driver = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .driver
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("chromedriver exited early ({status})").into());
            }
            if http_status(port, "/status") == Some(200) {
                return Ok(format!("http://127.0.0.1:{port}"));
            }
            ensure!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_logs();
        }
        if let Some(mut d) = self.driver.take() {
            // The whole group: chromedriver and the Chromium it launched.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", d.id())])
                .stderr(Stdio::null())
                .status();
            let _ = d.kill();
            let _ = d.wait();
        }
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Status code of a plain HTTP/1.1 GET on 127.0.0.1, or None when the
/// server does not answer (yet).
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    // One write: ChromeDriver rejects HTTP/1.0, so 1.1 with Connection: close.
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut head = [0u8; 32];
    let mut n = 0;
    while n < 12 {
        match s.read(&mut head[n..]).ok()? {
            0 => break,
            k => n += k,
        }
    }
    let line = std::str::from_utf8(&head[..n]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn connect(driver: &str, profile: &Path) -> Res<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                "--lang=zh-CN",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await?;
    Ok(client)
}

async fn text_of(c: &Client, css: &str) -> Res<String> {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(el) => Ok(el.text().await?),
        Err(e) => {
            let path = current_path(c).await;
            Err(format!("element {css} not found on {path:?}: {e}").into())
        }
    }
}

async fn current_path(c: &Client) -> String {
    c.current_url()
        .await
        .map(|u| u.path().to_owned())
        .unwrap_or_default()
}

async fn body_text(c: &Client) -> Res<String> {
    Ok(c.find(Locator::Css("body")).await?.text().await?)
}

async fn login(c: &Client, base: &str, username: &str, password: &str) -> Res<()> {
    if current_path(c).await != "/login" {
        c.goto(&format!("{base}/login")).await?;
    }
    let user = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#username"))
        .await?;
    user.clear().await?;
    user.send_keys(username).await?;
    let pass = c.find(Locator::Css("#password")).await?;
    pass.clear().await?;
    pass.send_keys(password).await?;
    c.find(Locator::Css("#login-btn")).await?.click().await?;
    Ok(())
}

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
    ensure!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
    let shot = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/screenshot-policies.png"
    ));
    fs::create_dir_all(shot.parent().unwrap())?;
    fs::write(shot, &png)?;
    eprintln!("e2e: wrote {} ({} bytes)", shot.display(), png.len());

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

async fn no_horizontal_overflow(c: &Client, what: &str) -> Res<()> {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await?;
    let scroll = v[0].as_f64().unwrap_or(f64::MAX);
    let inner = v[1].as_f64().unwrap_or(0.0);
    let fits = scroll <= inner + 1.0;
    ensure!(
        fits,
        "{what} overflows horizontally at {inner}px: scrollWidth {scroll}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_journey_matched_policies() {
    if std::env::var("ZHENGQI_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!("e2e: skipped because ZHENGQI_SKIP_E2E=1");
        return;
    }
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the browser e2e test needs {}: run scripts/install-browser (or set ZHENGQI_SKIP_E2E=1 to skip it)",
        missing.join(" and ")
    );

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
    let profile = guard.dir.join("chrome-profile");
    fs::create_dir_all(&profile).unwrap();
    let client = match connect(&driver, &profile).await {
        Ok(c) => c,
        Err(e) => panic!("could not start {CHROMIUM} through chromedriver: {e}"),
    };

    let result = journey(&client, &base).await;
    if result.is_err() {
        let url = client.current_url().await.map(|u| u.to_string());
        eprintln!("e2e: failed at {url:?}");
        if let Ok(png) = client.screenshot().await {
            let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-failure.png");
            if fs::write(&p, png).is_ok() {
                eprintln!("e2e: failure screenshot at {}", p.display());
            }
        }
        if let Ok(src) = client.source().await {
            eprintln!("----- page source -----\n{src}");
        }
    }
    let _ = client.close().await;
    if let Err(e) = result {
        panic!("browser journey failed: {e}");
    }
    eprintln!("e2e: journey passed in {:?}", started.elapsed());
    drop(guard);
}
