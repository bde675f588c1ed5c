//! The harness the end-to-end tests share: the real `zhengqi` binary on a
//! temporary database, ChromeDriver with Debian's headless Chromium
//! (fantoccini), and small page helpers. Each test binary uses a part of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const PASSWORD: &str = "zhengqi2026";
/// Synthetic weekday-only years after the shipped notices: the server
/// accepts cases today, and their deadlines may fall in a year the shipped
/// data does not cover yet. Tests only; never the State Council notice.
pub const TEST_HOLIDAYS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/test/holidays-after-2026.json"
);
/// Demo seeding in a debug build on 2 busy cores can take a while.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(300);
pub const WAIT: Duration = Duration::from_secs(20);

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

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
pub struct Guard {
    pub dir: PathBuf,
    pub server: Option<Child>,
    driver: Option<Child>,
}

impl Guard {
    pub fn new() -> Guard {
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

    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn print_logs(&self) {
        for name in ["server.log", "chromedriver.log"] {
            let text = fs::read_to_string(self.log(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!("----- {name} (last {} lines) -----", tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }

    /// `zhengqi serve --demo` on a fresh SQLite database in the temp dir.
    pub fn start_server(&mut self) -> Res<String> {
        self.start_server_on(&["--demo"], None)
    }

    /// `zhengqi serve` with `extra` arguments on `database_url`, or on an
    /// SQLite file in the temp dir when None (always that file, never a
    /// developer's or CI's database). Returns the base URL once `/healthz`
    /// and `/login` answer 200. May be called again after `kill_server`:
    /// the new server gets a new port and appends to the same log.
    pub fn start_server_on(&mut self, extra: &[&str], database_url: Option<&str>) -> Res<String> {
        let port = free_port()?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log("server.log"))?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhengqi"));
        cmd.arg("serve")
            .args(extra)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .env("RUST_LOG", "warn")
            .env("ZHENGQI_HOLIDAYS", TEST_HOLIDAYS)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        match database_url {
            Some(url) => cmd.env("DATABASE_URL", url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        self.server = Some(cmd.spawn()?);
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

    /// SIGKILL (`kill -9`): no graceful shutdown, no flushing.
    pub fn kill_server(&mut self) -> Res<()> {
        if let Some(mut s) = self.server.take() {
            // std's Child::kill sends SIGKILL on Unix.
            s.kill()?;
            s.wait()?;
        }
        Ok(())
    }

    pub fn start_chromedriver(&mut self) -> Res<String> {
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

pub fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Status code of a plain HTTP/1.1 GET on 127.0.0.1, or None when the
/// server does not answer (yet).
pub fn http_status(port: u16, path: &str) -> Option<u16> {
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

pub async fn connect(driver: &str, profile: &Path) -> Res<Client> {
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

pub async fn text_of(c: &Client, css: &str) -> Res<String> {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(el) => Ok(el.text().await?),
        Err(e) => {
            let path = current_path(c).await;
            Err(format!("element {css} not found on {path:?}: {e}").into())
        }
    }
}

pub async fn current_path(c: &Client) -> String {
    c.current_url()
        .await
        .map(|u| u.path().to_owned())
        .unwrap_or_default()
}

pub async fn body_text(c: &Client) -> Res<String> {
    Ok(c.find(Locator::Css("body")).await?.text().await?)
}

pub async fn login(c: &Client, base: &str, username: &str, password: &str) -> Res<()> {
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

pub async fn no_horizontal_overflow(c: &Client, what: &str) -> Res<()> {
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

/// False (after saying so) when `ZHENGQI_SKIP_E2E=1`; panics with the fix
/// when Chromium or ChromeDriver is missing, so a browser test never passes
/// silently without a browser.
pub fn browser_wanted() -> bool {
    if std::env::var("ZHENGQI_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!("e2e: skipped because ZHENGQI_SKIP_E2E=1");
        return false;
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
    true
}

/// A new browser session with its own profile (own cookies), so several
/// users can be logged in at once.
pub async fn new_session(guard: &Guard, driver: &str, name: &str) -> Client {
    let profile = guard.dir.join(format!("chrome-profile-{name}"));
    fs::create_dir_all(&profile).unwrap();
    match connect(driver, &profile).await {
        Ok(c) => c,
        Err(e) => panic!("could not start {CHROMIUM} through chromedriver: {e}"),
    }
}

/// On failure: where the browser was, a screenshot and the page source.
pub async fn report_failure(client: &Client, name: &str) {
    let url = client.current_url().await.map(|u| u.to_string());
    eprintln!("e2e: session {name} failed at {url:?}");
    if let Ok(png) = client.screenshot().await {
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-failure-{name}.png"));
        if fs::write(&p, png).is_ok() {
            eprintln!("e2e: failure screenshot at {}", p.display());
        }
    }
    if let Ok(src) = client.source().await {
        eprintln!("----- page source ({name}) -----\n{src}");
    }
}

/// Keeps a journey's screenshot. It goes to `docs/<name>` (the pictures
/// the README shows) only when `ZHENGQI_UPDATE_SCREENSHOTS=1`; otherwise to
/// the test's scratch directory, so that a test run leaves the work tree
/// as it found it.
pub fn save_screenshot(name: &str, png: &[u8]) -> Res<PathBuf> {
    if !png.starts_with(b"\x89PNG") {
        return Err(format!("screenshot {name} is not a PNG").into());
    }
    let dir = if std::env::var("ZHENGQI_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs"))
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    };
    fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    fs::write(&path, png)?;
    eprintln!("wrote {} ({} bytes)", path.display(), png.len());
    Ok(path)
}
