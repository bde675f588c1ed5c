//! zhengqi (政企通): the binary. Each subcommand lives in its own module;
//! this file only parses the command line, sets up logging and the async
//! runtime, and turns errors into Chinese messages and exit codes.

mod account;
mod calendar;
mod catalogue;
mod check;
mod cli;
mod db;
mod demo;
mod demo_cases;
mod export;
mod import;
mod matching;
mod policy;
mod progress;
mod refdata;
mod scheduler;
mod serve;
mod text;

use std::io::IsTerminal;
use std::process::ExitCode;

use cli::{AccountCmd, CalendarCmd, CatalogueCmd, Cmd, EnterpriseCmd, PolicyCmd, ReferenceCmd};

/// An error that carries its own exit code (2 = unusable input).
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

pub fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fail {
        code,
        message: message.into(),
    })
}

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The server logs its requests; the one-shot commands stay quiet unless asked.
    let default_level = if matches!(cli.command, Cmd::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();

    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            let message: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("错误：{}", message.join("："));
            let code = e.downcast_ref::<Fail>().map_or(1, |f| f.code);
            ExitCode::from(code)
        }
    }
}

fn run(cmd: Cmd) -> anyhow::Result<ExitCode> {
    // Pure commands need no runtime or database.
    let cmd = match cmd {
        Cmd::Check {
            what: cli::CheckCmd::Uscc { codes },
        } => return Ok(check::uscc(&codes)),
        Cmd::Classify(args) => return check::classify(&args),
        Cmd::Policy {
            cmd: PolicyCmd::Parse { file },
        } => return policy::parse(&file),
        Cmd::Calendar {
            cmd: CalendarCmd::AddWorkdays { date, n },
        } => return calendar::add_workdays(&date, &n),
        Cmd::Calendar {
            cmd: CalendarCmd::Workdays { from, to },
        } => return calendar::workdays(&from, &to),
        other => other,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(1, format!("无法启动异步运行时：{e}")))?;
    rt.block_on(async move {
        match cmd {
            Cmd::Serve(args) => serve::run(args).await,
            Cmd::Enterprise {
                cmd: EnterpriseCmd::Import { file, db },
            } => import::run(&file, &db).await,
            Cmd::Enterprise {
                cmd:
                    EnterpriseCmd::Export {
                        file,
                        indicators,
                        db,
                    },
            } => export::run(&file, indicators.as_deref(), &db).await,
            Cmd::Account {
                cmd: AccountCmd::Create(args),
            } => account::create(&args).await,
            Cmd::Account {
                cmd: AccountCmd::List { db },
            } => account::list(&db).await,
            Cmd::Reference {
                cmd: ReferenceCmd::Load { dir, db },
            } => refdata::load(&dir, &db).await,
            Cmd::Reference {
                cmd: ReferenceCmd::Show { db },
            } => refdata::show(&db).await,
            Cmd::Policy {
                cmd: PolicyCmd::Import { paths, status, db },
            } => policy::import(&paths, &status, &db).await,
            Cmd::Policy {
                cmd: PolicyCmd::Export { file, db },
            } => policy::export(&file, &db).await,
            Cmd::Policy {
                cmd: PolicyCmd::ImportList { file, db },
            } => policy::import_list(&file, &db).await,
            Cmd::Catalogue {
                cmd: CatalogueCmd::Export { file, db },
            } => catalogue::export(&file, &db).await,
            Cmd::Catalogue {
                cmd: CatalogueCmd::Import { file, db },
            } => catalogue::import(&file, &db).await,
            Cmd::Scheduler {
                cmd: cli::SchedulerCmd::RunOnce { date, db },
            } => scheduler::run_once(date.as_deref(), &db).await,
            Cmd::Match { out, date, db } => {
                matching::run(out.as_deref(), date.as_deref(), &db).await
            }
            Cmd::Check { .. } | Cmd::Classify(_) | Cmd::Policy { .. } | Cmd::Calendar { .. } => {
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
