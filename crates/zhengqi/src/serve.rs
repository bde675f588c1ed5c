//! `serve`: the web site and API, with optional demo data.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use zhengqi_store::{ReferenceDocs, Store};
use zhengqi_web::{AppState, WebConfig};

use crate::cli::ServeArgs;
use crate::text::{pad, width};
use crate::{db, demo, fail};

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let url = db::database_url(&args.db.data_dir)?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("无法打开数据库 {}", db::describe_url(&url)))?;
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .context("无法载入参考数据")?;

    // Bind first: a busy port should fail before minutes of demo seeding.
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| fail(1, format!("无法监听地址 {}：{e}", args.addr)))?;
    let demo_ready = if args.demo {
        prepare_demo(&store, &rd).await?
    } else {
        false
    };
    let local = listener.local_addr()?;
    // Anything reachable from other machines is assumed to sit behind HTTPS.
    let secure_cookies = args.secure_cookies || !local.ip().is_loopback();
    // Reminders, 容缺 overdue rules and deadline notices: now, then every minute.
    // The shipped holiday notices, any the operator added (ZHENGQI_HOLIDAYS)
    // and those administrators loaded (/admin/calendar).
    let layers = crate::calendar::layers()?;
    let scheduler = crate::scheduler::spawn(store.clone(), rd.clone(), layers.clone());
    let state = AppState::new(
        store.clone(),
        rd,
        WebConfig {
            secure_cookies,
            demo: demo_ready,
        },
    )
    .with_calendar_layers(layers)
    .map_err(|e| anyhow::anyhow!("节假日安排无效：{e}"))?;
    state.reload_calendar().await?;
    let today = zhengqi_domain::approval::case::local_day(chrono::Utc::now());
    if let Some(year) = state.calendar().uncovered_year_ahead(today) {
        // Also shown on every page government users open.
        eprintln!(
            "警告：工作日日历只载入到 {} 年，期限落入 {year} 年的办件将无法受理。请管理员在“工作日日历”页（/admin/calendar）或用 {} 载入 {year} 年的节假日安排。",
            year - 1,
            crate::calendar::HOLIDAYS_ENV
        );
    }
    // Seeds the catalogue on the first start; later starts read the edits.
    state
        .ensure_catalogue()
        .await
        .map_err(|e| anyhow::anyhow!("无法载入服务事项清单：{}", e.message))?;
    // The initial policy match: pushes what enterprises qualify for and
    // warms the engine. Idempotent (one push per enterprise and rule
    // version), so every start catches up with changes made offline. The
    // demo waits for it so its accounts see their matches at once.
    if demo_ready {
        let n = state
            .match_and_push_all()
            .await
            .map_err(|e| anyhow::anyhow!("政策匹配失败：{}", e.message))?;
        eprintln!("政策匹配完成：新推送 {n} 条。");
    } else {
        let st = state.clone();
        tokio::spawn(async move {
            match st.match_and_push_all().await {
                Ok(n) => tracing::info!(pushed = n, "initial policy match done"),
                Err(e) => tracing::error!(error = %e.message, "initial policy match failed"),
            }
        });
    }
    let app = zhengqi_web::router(state);
    // Outbound webhooks; deliveries survive restarts in the database.
    let webhooks = zhengqi_web::webhooks::spawn_worker(
        store.clone(),
        zhengqi_web::webhooks::WebhookConfig::default(),
    );

    print_banner(local, &url, secure_cookies, demo_ready);
    tracing::info!(addr = %local, "政企通已启动");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("服务异常退出")?;
    // A send cut off here is retried after its lease; nothing is lost.
    webhooks.abort();
    // A pass cut off here rolls back its case's transaction; the next run redoes it.
    scheduler.abort();
    store.close().await;
    println!("政企通已停止。");
    Ok(ExitCode::SUCCESS)
}

/// Seeds an empty database and makes sure the demo accounts exist. Demo
/// accounts (with their published password) are only ever created in a
/// database that holds the demo data, never beside real data.
async fn prepare_demo(
    store: &Store,
    rd: &zhengqi_domain::reference::ReferenceData,
) -> anyhow::Result<bool> {
    if store.count_enterprises().await? == 0 {
        eprintln!("数据库为空，正在生成演示数据…");
        let summary = demo::seed(store, rd).await?;
        let policies = crate::policy::seed_demo(store, rd).await?;
        let mut applicants = vec![demo::showcase_uscc()?.to_string()];
        applicants.extend(
            store
                .enterprises(&zhengqi_store::EnterpriseFilter {
                    limit: 12,
                    ..Default::default()
                })
                .await?
                .items
                .iter()
                .map(|e| e.uscc.to_string()),
        );
        let cases = crate::demo_cases::seed(store, &applicants, chrono::Utc::now()).await?;
        eprintln!("演示办件 {cases} 件。");
        store.set_meta("demo", "1").await?;
        eprintln!(
            "演示数据已生成：企业 {} 家，指标 {} 条，政策 {policies} 项。",
            summary.enterprises, summary.indicators
        );
    }
    if store.meta("demo").await?.as_deref() != Some("1") {
        eprintln!("注意：数据库中已有非演示的企业数据，演示模式未启用，也不会创建演示账号。");
        return Ok(false);
    }
    demo::ensure_accounts(store, rd).await?;
    Ok(true)
}

fn print_banner(local: SocketAddr, url: &str, secure_cookies: bool, demo: bool) {
    let shown = if local.ip().is_unspecified() {
        format!(
            "http://127.0.0.1:{}/（已监听全部网卡 {local}）",
            local.port()
        )
    } else {
        format!("http://{local}/")
    };
    println!();
    println!("政企通（珠海市政企服务平台）已启动");
    println!("  访问地址：{shown}");
    println!("  数据库：{}", db::describe_url(url));
    if secure_cookies {
        println!("  会话 Cookie 带 Secure 标记：请通过 HTTPS（如反向代理）访问。");
    }
    if demo {
        println!();
        println!("演示模式：以下账号的密码均为 {}", demo::DEMO_PASSWORD);
        let uw = demo::DEMO_ACCOUNTS
            .iter()
            .map(|(u, _, _)| width(u))
            .max()
            .unwrap_or(0);
        let rw = demo::DEMO_ACCOUNTS
            .iter()
            .map(|(_, r, _)| width(r))
            .max()
            .unwrap_or(0);
        for (user, role, desc) in demo::DEMO_ACCOUNTS {
            println!("  {}  {}  {desc}", pad(user, uw), pad(role, rw));
        }
        println!("演示数据为随机生成，企业与数字均为虚构（格力电器仅作示例）。");
    }
    println!();
    println!("按 Ctrl-C 停止。");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without a SIGTERM handler, Ctrl-C still stops the server.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("收到停止信号，正在关闭…");
}
