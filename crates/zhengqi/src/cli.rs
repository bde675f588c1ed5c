//! Command-line definitions, with help and parse errors in Chinese: clap
//! only speaks English, so its headings and error texts are replaced here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Args, Command, CommandFactory, FromArgMatches, Parser, Subcommand};

/// 政企通：珠海市政企服务平台
#[derive(Parser, Debug)]
#[command(name = "zhengqi", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// 启动网站与 API 服务
    Serve(ServeArgs),
    /// 校验代码（如统一社会信用代码）
    Check {
        #[command(subcommand)]
        what: CheckCmd,
    },
    /// 按《统计上大中小微型企业划分办法》判定企业规模
    Classify(ClassifyArgs),
    /// 企业名录与指标的导入、导出
    Enterprise {
        #[command(subcommand)]
        cmd: EnterpriseCmd,
    },
    /// 账号管理
    Account {
        #[command(subcommand)]
        cmd: AccountCmd,
    },
    /// 参考数据（区域、部门、行业、规模标准）
    Reference {
        #[command(subcommand)]
        cmd: ReferenceCmd,
    },
    /// 工作日日历：按法定节假日与调休计算工作日
    Calendar {
        #[command(subcommand)]
        cmd: CalendarCmd,
    },
    /// 政策库：解析、导入、导出政策文件
    Policy {
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// 政务服务事项清单：导出、导入（xlsx，与网页导出格式相同）
    Catalogue {
        #[command(subcommand)]
        cmd: CatalogueCmd,
    },
    /// 政策匹配：全部企业 × 已发布且有规则的政策，输出各政策符合家数、金额与耗时
    Match {
        /// 输出 CSV：每个“符合/无法判断”的（统一社会信用代码, 政策编号, 结论, 金额）一行
        #[arg(long, value_name = "文件")]
        out: Option<PathBuf>,
        /// 按该日期判断（YYYY-MM-DD），默认今天
        #[arg(long, value_name = "日期")]
        date: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 审批调度：容缺材料补正提醒、逾期处理、时限预警与超期通知（serve 每分钟自动运行）
    Scheduler {
        #[command(subcommand)]
        cmd: SchedulerCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum SchedulerCmd {
    /// 运行一次调度并输出所做的处理（同一提醒只发送一次，可重复运行）
    RunOnce {
        /// 按该日期运行（YYYY-MM-DD，北京时间当日 9:00；不得晚于今天），默认现在
        #[arg(long, value_name = "日期")]
        date: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum CalendarCmd {
    /// 输出给定日期之后第 N 个工作日（给定日期本身不计，如“受理之日起N个工作日”）
    AddWorkdays {
        /// 起始日期 YYYY-MM-DD
        #[arg(value_name = "日期", help_heading = "参数")]
        date: String,
        /// 工作日天数（≥1）
        #[arg(
            value_name = "天数",
            help_heading = "参数",
            allow_negative_numbers = true
        )]
        n: String,
    },
    /// 输出两个日期之间的工作日数（不含第一个日期，含第二个日期）
    Workdays {
        /// 起始日期 YYYY-MM-DD（不计入）
        #[arg(value_name = "起始日期", help_heading = "参数")]
        from: String,
        /// 截止日期 YYYY-MM-DD（计入）
        #[arg(value_name = "截止日期", help_heading = "参数")]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum CatalogueCmd {
    /// 导出服务事项清单（xlsx：事项、材料、表单字段、一件事四个工作表）
    Export {
        /// 输出文件（.xlsx）
        #[arg(value_name = "文件", help_heading = "参数")]
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 导入服务事项清单（按事项编码新增或更新；任一行有错则不导入任何内容）
    Import {
        /// 清单文件（.xlsx，导出格式）
        #[arg(value_name = "文件", help_heading = "参数")]
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// 解析一份政策文件，以 JSON 输出结构化结果
    Parse {
        /// 政策文件（UTF-8 或 GB18030 文本）
        #[arg(value_name = "文件", help_heading = "参数")]
        file: PathBuf,
    },
    /// 导入政策文件或文件夹（内容相同则不变，内容变化则存为新版本）
    Import {
        /// 文件或文件夹（文件夹中的 .txt 文件）
        #[arg(value_name = "路径", help_heading = "参数", required = true)]
        paths: Vec<PathBuf>,
        /// 导入后的状态：published（已发布，默认）或 draft（草稿）
        #[arg(long, default_value = "published", value_name = "状态")]
        status: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 按政策清单（xlsx，导出格式）批量更新政策状态：按发文字号或标题匹配
    ImportList {
        /// 政策清单文件（.xlsx 或 .csv）
        #[arg(value_name = "文件", help_heading = "参数")]
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 导出政策清单（xlsx，每项政策一行）
    Export {
        /// 输出文件（.xlsx）
        #[arg(value_name = "文件", help_heading = "参数")]
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Where the database lives; `DATABASE_URL` overrides it.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// 数据目录，默认 ./zhengqi-data（未设置环境变量 DATABASE_URL 时，数据库为其中的 zhengqi.db）
    #[arg(
        long,
        value_name = "目录",
        default_value = "./zhengqi-data",
        hide_default_value = true
    )]
    pub data_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// 监听地址，默认 127.0.0.1:8080
    #[arg(
        long,
        value_name = "主机:端口",
        default_value = "127.0.0.1:8080",
        hide_default_value = true
    )]
    pub addr: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// 演示模式：空数据库时生成约2000家演示企业，并创建演示账号
    #[arg(long)]
    pub demo: bool,
    /// 会话 Cookie 加 Secure 标记（监听非本机地址时自动开启）
    #[arg(long)]
    pub secure_cookies: bool,
}

#[derive(Subcommand, Debug)]
pub enum CheckCmd {
    /// 校验统一社会信用代码（GB 32100-2015）
    Uscc {
        /// 要校验的代码，可一次给多个
        #[arg(value_name = "代码", required = true, help_heading = "参数")]
        codes: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct ClassifyArgs {
    /// 国民经济行业分类代码，如 39、C39、6513
    #[arg(long, value_name = "行业代码")]
    pub industry: String,
    /// 从业人员（人）
    #[arg(long, value_name = "人数")]
    pub employees: Option<String>,
    /// 营业收入，如 1850万、1.5亿、3000000元
    #[arg(long, value_name = "金额")]
    pub revenue: Option<String>,
    /// 资产总额，如 8000万
    #[arg(long, value_name = "金额")]
    pub assets: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum EnterpriseCmd {
    /// 导入企业名录或企业指标（CSV 或 xlsx，按表头自动识别）
    Import {
        /// 要导入的文件（.csv 或 .xlsx）
        #[arg(value_name = "文件", help_heading = "参数")]
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 导出全部企业（可再导入）
    Export {
        /// 企业名录输出文件（.xlsx 或 .csv）
        #[arg(value_name = "文件", help_heading = "参数")]
        file: PathBuf,
        /// 同时导出企业指标（含历史记录）到该文件
        #[arg(long, value_name = "文件")]
        indicators: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// 创建账号（密码取自环境变量 ZHENGQI_PASSWORD，未设置时从标准输入读取）
    Create(AccountCreateArgs),
    /// 列出全部账号
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args, Debug)]
pub struct AccountCreateArgs {
    /// 用户名（3–32位字母、数字、下划线、连字符或点）
    #[arg(long, value_name = "用户名")]
    pub username: String,
    /// 姓名或显示名称
    #[arg(long, value_name = "显示名")]
    pub name: String,
    /// 角色：enterprise（企业用户）、staff（部门工作人员）、supervisor（督查人员）、admin（系统管理员）
    #[arg(long, value_name = "角色")]
    pub role: String,
    /// 企业用户绑定的企业（统一社会信用代码）
    #[arg(long, value_name = "统一社会信用代码")]
    pub enterprise: Option<String>,
    /// 部门工作人员所属部门（部门编码或名称）
    #[arg(long, value_name = "部门")]
    pub department: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Subcommand, Debug)]
pub enum ReferenceCmd {
    /// 从目录载入参考数据（areas.json、departments.json、industries.json、size-classes.json；缺少的文件用内置默认）
    Load {
        /// 参考数据目录
        #[arg(value_name = "目录", help_heading = "参数")]
        dir: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 显示区域树
    Show {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Replaces clap's English help flag, headings and layout on every
/// (sub)command, keeping only sections the command actually has.
fn localize(cmd: Command) -> Command {
    let cmd = cmd
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("显示帮助"),
        );
    let has_positionals = cmd.get_positionals().next().is_some();
    let has_subcommands = cmd.get_subcommands().next().is_some();
    let mut template = String::from("{about-with-newline}\n用法：{usage}\n");
    if has_subcommands {
        template.push_str("\n命令：\n{subcommands}\n");
    }
    if has_positionals {
        template.push_str("\n参数：\n{positionals}\n");
    }
    template.push_str("\n选项：\n{options}\n");
    let cmd = if has_subcommands {
        cmd.subcommand_value_name("命令")
    } else {
        cmd
    };
    cmd.help_template(template).mut_subcommands(localize)
}

pub fn command() -> Command {
    localize(
        Cli::command().disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("显示版本"),
        ),
    )
    .about("政企通：珠海市政企服务平台")
}

/// Parses the command line; on failure prints help or a Chinese error and
/// returns the exit code to use.
pub fn parse() -> Result<Cli, ExitCode> {
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    parsed.map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            eprintln!("命令行参数错误：{}", describe(&e));
            eprintln!("运行 zhengqi --help 查看用法。");
            ExitCode::from(2)
        }
    })
}

fn describe(e: &clap::Error) -> String {
    let ctx = |k: ContextKind| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    match e.kind() {
        ErrorKind::UnknownArgument => format!("不认识的参数“{}”", ctx(ContextKind::InvalidArg)),
        ErrorKind::InvalidSubcommand => {
            format!("不认识的命令“{}”", ctx(ContextKind::InvalidSubcommand))
        }
        ErrorKind::MissingRequiredArgument => {
            format!("缺少必需的参数 {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::MissingSubcommand => "缺少子命令".to_owned(),
        ErrorKind::InvalidValue if ctx(ContextKind::InvalidValue).is_empty() => {
            format!("参数 {} 缺少值", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => format!(
            "参数 {} 的值“{}”无效",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::InvalidValue)
        ),
        ErrorKind::ArgumentConflict => format!(
            "参数 {} 不能与 {} 同时使用",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::PriorArg)
        ),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            format!("参数 {} 的值个数不对", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::NoEquals => format!("参数 {} 需要用 = 给值", ctx(ContextKind::InvalidArg)),
        ErrorKind::InvalidUtf8 => "参数含有无效的 UTF-8 字符".to_owned(),
        _ => "参数有误".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_definition_is_consistent() {
        command().debug_assert();
    }
}
