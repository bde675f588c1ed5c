//! End-to-end tests of the command line: each test runs the real binary
//! against its own SQLite database in a fresh temporary directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use zhengqi_domain::table::{self, Format, Table};
use zhengqi_domain::uscc::Uscc;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "zhengqi-cli-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn data_dir(&self) -> String {
        self.0.join("data").to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zhengqi"));
    // The tests must never touch a developer's or CI's real database.
    c.env_remove("DATABASE_URL")
        .env_remove("ZHENGQI_PASSWORD")
        .env_remove("ZHENGQI_HOLIDAYS")
        .env("RUST_LOG", "warn");
    c
}

fn finish(c: &mut Command) -> Out {
    let o = c.output().expect("run zhengqi");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Out {
    finish(command().args(args))
}

/// Runs a database command against the test directory's database.
fn run_db(dir: &TempDir, args: &[&str]) -> Out {
    let data = dir.data_dir();
    finish(command().args(args).args(["--data-dir", &data]))
}

/// A valid code distinct per `n`.
fn code(n: u32) -> String {
    Uscc::from_body(&format!("91440402MA5{n:06}"))
        .unwrap()
        .as_str()
        .to_owned()
}

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let p = dir.path(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn read_table(path: &Path) -> Table {
    let bytes = std::fs::read(path).unwrap();
    table::read(&bytes, Format::from_name(&path.to_string_lossy()).unwrap()).unwrap()
}

/// The row of the table whose first cell is `uscc`, by header name.
fn cell(t: &Table, uscc: &str, header: &str) -> String {
    let col = t.column(&[header]).unwrap();
    let row = t.rows.iter().find(|r| r.cells[0] == uscc).unwrap();
    row.cells.get(col).cloned().unwrap_or_default()
}

#[test]
fn check_uscc_reports_each_code() {
    let ok = run(&["check", "uscc", "91440400192548256N"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.stdout.trim(), "91440400192548256N  有效");

    let mixed = run(&[
        "check",
        "uscc",
        "91440400192548256N",
        "91440400192548256X",
        "123",
    ]);
    assert_eq!(mixed.code, 1);
    let lines: Vec<&str> = mixed.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", mixed.stdout);
    assert!(
        lines[1].starts_with("91440400192548256X  无效："),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("应为“N”"), "{}", lines[1]);
    assert!(lines[2].contains("18位"), "{}", lines[2]);

    // Lower case and surrounding spaces are tolerated.
    assert_eq!(run(&["check", "uscc", " 91440400192548256n "]).code, 0);
}

#[test]
fn classify_examples() {
    let small = run(&[
        "classify",
        "--industry",
        "39",
        "--employees",
        "250",
        "--revenue",
        "1850万",
    ]);
    assert_eq!(small.code, 0, "{}", small.stderr);
    let lines: Vec<&str> = small.stdout.lines().collect();
    assert_eq!(lines[0], "小型");
    assert!(
        lines[1].contains("工业") && lines[1].contains("250人"),
        "{}",
        lines[1]
    );

    let micro = run(&[
        "classify",
        "--industry",
        "65",
        "--employees",
        "5",
        "--revenue",
        "30万",
    ]);
    assert_eq!(micro.code, 0, "{}", micro.stderr);
    assert_eq!(micro.stdout.lines().next(), Some("微型"));

    let large = run(&[
        "classify",
        "--industry",
        "C38",
        "--employees",
        "70000",
        "--revenue",
        "1900亿",
    ]);
    assert_eq!(
        large.stdout.lines().next(),
        Some("大型"),
        "{}",
        large.stderr
    );

    let bad = run(&[
        "classify",
        "--industry",
        "39",
        "--employees",
        "250",
        "--revenue",
        "很多",
    ]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("金额“很多”无法识别"), "{}", bad.stderr);

    let bad_industry = run(&[
        "classify",
        "--industry",
        "99",
        "--employees",
        "5",
        "--revenue",
        "3万",
    ]);
    assert_eq!(bad_industry.code, 2);
    assert!(
        bad_industry.stderr.contains("行业代码“99”"),
        "{}",
        bad_industry.stderr
    );

    let missing = run(&["classify", "--industry", "72", "--employees", "50"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("资产总额"), "{}", missing.stderr);

    let bad_employees = run(&[
        "classify",
        "--industry",
        "39",
        "--employees",
        "很多",
        "--revenue",
        "1万",
    ]);
    assert_eq!(bad_employees.code, 2);
    assert!(
        bad_employees.stderr.contains("从业人员"),
        "{}",
        bad_employees.stderr
    );
}

#[test]
fn command_line_errors_are_in_chinese() {
    let o = run(&["frobnicate"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("不认识的命令"), "{}", o.stderr);
    let help = run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("用法") && help.stdout.contains("显示帮助"));
}

fn enterprise_csv() -> String {
    format!(
        "统一社会信用代码,企业名称,法定代表人,成立日期,所在区域,行业代码,企业规模,标签,资质\n\
         {c1},珠海甲电子科技有限公司,张三,2015-06-01,香洲区,39,,专精特新,高新技术企业:2023-01-01:2025-12-31\n\
         {c2},珠海乙软件技术有限公司,李四,2020-03-15,保税区,65,小型,,\n\
         91440400192548256X,珠海丙公司,王五,2018-01-01,香洲区,39,,,\n\
         {c3},珠海丁贸易有限公司,赵六,2019/07/01,横琴,F51,,链主企业、规上企业,\n\
         {c4},珠海戊公司,钱七,2019-01-01,火星区,99,,,\n",
        c1 = code(1),
        c2 = code(2),
        c3 = code(3),
        c4 = code(4),
    )
}

fn indicator_csv() -> String {
    format!(
        "统一社会信用代码,年度,指标,数值,来源部门\n\
         {c1},2025,从业人员,250,市人力资源社会保障局\n\
         {c1},2025,营业收入,1850万,市税务局\n\
         {c1},2024,营业收入,\"1,500万元\",SSWJ\n\
         {c2},2025,从业人员,很多,市人力资源社会保障局\n\
         {c9},2025,营业收入,100万,市税务局\n",
        c1 = code(1),
        c2 = code(2),
        c9 = code(9),
    )
}

#[test]
fn enterprise_import_keeps_good_rows_and_reports_bad_ones() {
    let dir = TempDir::new("import");
    let csv = write(&dir, "企业.csv", &enterprise_csv());

    let first = run_db(&dir, &["enterprise", "import", &csv]);
    assert_eq!(first.code, 1, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("企业名录：共 5 行，新增 3，更新 0，未变 0，错误 2"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("第4行：统一社会信用代码："),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("应为“"), "{}", first.stderr);
    assert!(
        first.stderr.contains("第6行：所在区域："),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("第6行：行业代码："),
        "{}",
        first.stderr
    );
    assert!(!first.stderr.contains("第2行"), "{}", first.stderr);

    // Importing the same file again changes nothing.
    let again = run_db(&dir, &["enterprise", "import", &csv]);
    assert_eq!(again.code, 1);
    assert!(
        again
            .stdout
            .contains("企业名录：共 5 行，新增 0，更新 0，未变 3，错误 2"),
        "{}",
        again.stdout
    );

    // The good rows are stored as given.
    let out = dir.path("导出.xlsx");
    let export = run_db(&dir, &["enterprise", "export", &out.to_string_lossy()]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    let t = read_table(&out);
    assert_eq!(t.rows.len(), 3);
    assert_eq!(cell(&t, &code(1), "所在区域"), "香洲区");
    assert_eq!(cell(&t, &code(1), "标签"), "专精特新");
    assert_eq!(
        cell(&t, &code(1), "资质"),
        "高新技术企业:2023-01-01:2025-12-31"
    );
    assert_eq!(cell(&t, &code(2), "企业规模"), "小型");
    assert_eq!(cell(&t, &code(3), "成立日期"), "2019-07-01");
    assert_eq!(cell(&t, &code(3), "行业代码"), "51");
    assert_eq!(cell(&t, &code(3), "标签"), "链主企业、规上企业");
}

#[test]
fn duplicate_rows_in_one_file_are_rejected() {
    let dir = TempDir::new("dup");
    let c = code(7);
    let csv = write(
        &dir,
        "dup.csv",
        &format!(
            "统一社会信用代码,企业名称,所在区域,行业代码\n{c},珠海甲公司,香洲区,39\n{c},珠海乙公司,香洲区,39\n"
        ),
    );
    let o = run_db(&dir, &["enterprise", "import", &csv]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout.contains("新增 0") && o.stdout.contains("错误 2"),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr.contains("第2行") && o.stderr.contains("第3行"),
        "{}",
        o.stderr
    );
}

#[test]
fn unreadable_files_exit_with_2() {
    let dir = TempDir::new("unreadable");
    let missing = dir.path("nope.csv");
    let o = run_db(&dir, &["enterprise", "import", &missing.to_string_lossy()]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("无法读取文件"), "{}", o.stderr);

    let txt = write(&dir, "a.txt", "x");
    let o = run_db(&dir, &["enterprise", "import", &txt]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains(".csv"), "{}", o.stderr);

    let wrong = write(&dir, "wrong.csv", "名字,地址\n甲,乙\n");
    let o = run_db(&dir, &["enterprise", "import", &wrong]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("统一社会信用代码"), "{}", o.stderr);

    let broken = write(&dir, "broken.xlsx", "not a zip");
    let o = run_db(&dir, &["enterprise", "import", &broken]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("xlsx"), "{}", o.stderr);
}

#[test]
fn indicator_import_adds_figures_and_recomputes_size() {
    let dir = TempDir::new("indicators");
    let ent = write(&dir, "企业.csv", &enterprise_csv());
    run_db(&dir, &["enterprise", "import", &ent]);
    let ind = write(&dir, "指标.csv", &indicator_csv());

    let first = run_db(&dir, &["enterprise", "import", &ind]);
    assert_eq!(first.code, 1, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("企业指标：共 5 行，新增 3，未变 0，错误 2"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("重新判定规模：1 家"),
        "{}",
        first.stdout
    );
    assert!(first.stderr.contains("第5行：数值："), "{}", first.stderr);
    assert!(
        first.stderr.contains("第6行：统一社会信用代码："),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("尚未登记"), "{}", first.stderr);

    let again = run_db(&dir, &["enterprise", "import", &ind]);
    assert!(
        again
            .stdout
            .contains("企业指标：共 5 行，新增 0，未变 3，错误 2"),
        "{}",
        again.stdout
    );

    // 250 people and 1,850万元 in industry 39 is 小型, computed from 2025.
    let out = dir.path("e.xlsx");
    run_db(&dir, &["enterprise", "export", &out.to_string_lossy()]);
    let t = read_table(&out);
    assert_eq!(cell(&t, &code(1), "企业规模"), "小型");
    // The declared size of the other enterprise is untouched.
    assert_eq!(cell(&t, &code(2), "企业规模"), "小型");
}

#[test]
fn xlsx_export_imports_back_unchanged() {
    let dir = TempDir::new("roundtrip");
    let ent = write(&dir, "企业.csv", &enterprise_csv());
    run_db(&dir, &["enterprise", "import", &ent]);
    let ind = write(&dir, "指标.csv", &indicator_csv());
    run_db(&dir, &["enterprise", "import", &ind]);
    // A correction: the latest figure wins, the old one stays as history.
    let fix = write(
        &dir,
        "更正.csv",
        &format!(
            "统一社会信用代码,年度,指标,数值,来源部门\n{},2025,营业收入,1900万,市税务局\n",
            code(1)
        ),
    );
    let o = run_db(&dir, &["enterprise", "import", &fix]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("新增 1"), "{}", o.stdout);

    let e_out = dir.path("企业.xlsx");
    let i_out = dir.path("指标.xlsx");
    let export = run_db(
        &dir,
        &[
            "enterprise",
            "export",
            &e_out.to_string_lossy(),
            "--indicators",
            &i_out.to_string_lossy(),
        ],
    );
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert!(export.stdout.contains("3 家企业"), "{}", export.stdout);

    let t = read_table(&e_out);
    assert_eq!(
        t.headers,
        vec![
            "统一社会信用代码",
            "企业名称",
            "法定代表人",
            "成立日期",
            "所在区域",
            "行业代码",
            "企业规模",
            "标签",
            "资质"
        ]
    );
    let inds = read_table(&i_out);
    assert_eq!(inds.rows.len(), 4);
    let status = inds.column(&["状态"]).unwrap();
    let history: Vec<_> = inds
        .rows
        .iter()
        .filter(|r| r.cells[status] == "历史")
        .collect();
    assert_eq!(history.len(), 1);
    assert!(
        history[0].cells.iter().any(|c| c == "1,850万元"),
        "{history:?}"
    );

    let back = run_db(&dir, &["enterprise", "import", &e_out.to_string_lossy()]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert!(
        back.stdout
            .contains("企业名录：共 3 行，新增 0，更新 0，未变 3，错误 0"),
        "{}",
        back.stdout
    );
    let back = run_db(&dir, &["enterprise", "import", &i_out.to_string_lossy()]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert!(
        back.stdout
            .contains("企业指标：共 4 行，新增 0，未变 3，错误 0，跳过历史记录 1"),
        "{}",
        back.stdout
    );

    // An edited export updates just the edited row.
    let mut rows: Vec<Vec<String>> = t.rows.iter().map(|r| r.cells.clone()).collect();
    let name_col = t.column(&["企业名称"]).unwrap();
    rows[0][name_col] = "珠海改名科技有限公司".to_owned();
    let headers: Vec<&str> = t.headers.iter().map(String::as_str).collect();
    let edited = dir.path("改.xlsx");
    std::fs::write(
        &edited,
        table::write_xlsx("企业名录", &headers, &rows).unwrap(),
    )
    .unwrap();
    let o = run_db(&dir, &["enterprise", "import", &edited.to_string_lossy()]);
    assert!(o.stdout.contains("新增 0，更新 1，未变 2"), "{}", o.stdout);

    // A fresh database accepts the export as well.
    let fresh = TempDir::new("fresh");
    let o = run_db(&fresh, &["enterprise", "import", &e_out.to_string_lossy()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("新增 3"), "{}", o.stdout);
}

#[test]
fn accounts_are_created_and_listed() {
    let dir = TempDir::new("accounts");
    let ent = write(&dir, "企业.csv", &enterprise_csv());
    run_db(&dir, &["enterprise", "import", &ent]);
    let data = dir.data_dir();

    let o = finish(
        command()
            .args([
                "account",
                "create",
                "--username",
                "Admin1",
                "--name",
                "管理员",
            ])
            .args(["--role", "admin", "--data-dir", &data])
            .env("ZHENGQI_PASSWORD", "zhengqi2026"),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("已创建账号 admin1"), "{}", o.stdout);

    // Password typed on stdin.
    let mut child = command()
        .args([
            "account",
            "create",
            "--username",
            "fgj",
            "--name",
            "发改局工作人员",
        ])
        .args([
            "--role",
            "staff",
            "--department",
            "市发展改革局",
            "--data-dir",
            &data,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"secret2026\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = finish(
        command()
            .args([
                "account",
                "create",
                "--username",
                "qiye",
                "--name",
                "经办人",
            ])
            .args([
                "--role",
                "enterprise",
                "--enterprise",
                &code(1),
                "--data-dir",
                &data,
            ])
            .env("ZHENGQI_PASSWORD", "zhengqi2026"),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);

    let weak = finish(
        command()
            .args(["account", "create", "--username", "weak", "--name", "弱"])
            .args(["--role", "admin", "--data-dir", &data])
            .env("ZHENGQI_PASSWORD", "short"),
    );
    assert_ne!(weak.code, 0);
    assert!(weak.stderr.contains("密码"), "{}", weak.stderr);

    let bad_role = run_db(
        &dir,
        &[
            "account",
            "create",
            "--username",
            "x123",
            "--name",
            "某",
            "--role",
            "boss",
        ],
    );
    assert_eq!(bad_role.code, 2);
    assert!(
        bad_role.stderr.contains("角色“boss”无效"),
        "{}",
        bad_role.stderr
    );

    let unbound = finish(
        command()
            .args(["account", "create", "--username", "qiye9", "--name", "某"])
            .args(["--role", "enterprise", "--data-dir", &data])
            .env("ZHENGQI_PASSWORD", "zhengqi2026"),
    );
    assert_ne!(unbound.code, 0);
    assert!(
        unbound.stderr.contains("企业用户必须绑定"),
        "{}",
        unbound.stderr
    );

    let list = run_db(&dir, &["account", "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains("admin1"), "{}", list.stdout);
    assert!(list.stdout.contains("市发展改革局"), "{}", list.stdout);
    assert!(list.stdout.contains(&code(1)), "{}", list.stdout);
    assert!(list.stdout.contains("共 3 个账号"), "{}", list.stdout);
}

#[test]
fn reference_data_is_shown_and_loaded() {
    let dir = TempDir::new("reference");
    let show = run_db(&dir, &["reference", "show"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.starts_with("珠海市（440400）"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("保税区"), "{}", show.stdout);

    let refdir = dir.path("ref");
    std::fs::create_dir_all(&refdir).unwrap();
    let load = run_db(&dir, &["reference", "load", &refdir.to_string_lossy()]);
    assert_eq!(load.code, 0, "{}", load.stderr);
    assert!(load.stdout.contains("使用内置默认"), "{}", load.stdout);
    assert!(load.stdout.contains("区域 11 个"), "{}", load.stdout);

    std::fs::write(refdir.join("areas.json"), "{\"areas\": 5}").unwrap();
    let bad = run_db(&dir, &["reference", "load", &refdir.to_string_lossy()]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("参考数据无效"), "{}", bad.stderr);
}

#[test]
fn policy_parse_gives_the_seed_structure() {
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/policies/policy-000.txt"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
        .args(["policy", "parse", seed])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["enterprise_sizes"],
        serde_json::json!(["中型", "小型", "微型"])
    );
    assert_eq!(v["valid_until"], serde_json::Value::Null);
    assert_eq!(v["articles"].as_array().unwrap().len(), 10);
    assert_eq!(
        v["articles"][9]["lead_units"],
        serde_json::json!(["市招商署", "市工业和信息化局", "市自然资源局"])
    );
    assert_eq!(
        v["areas"][5]["members"],
        serde_json::json!(["保税区", "万山区"])
    );
    assert!(
        v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["article"] == 2 && t["kind"] == "percent" && t["value"] == 0.8)
    );

    let bad = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/policies/invalid/unknown-area.txt"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
        .args(["policy", "parse", bad])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("火星区"));
}

#[test]
fn policy_import_is_idempotent_and_versions_changes() {
    let dir = std::env::temp_dir().join(format!("zq-policy-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/policies/policy-000.txt"
    ))
    .unwrap();
    std::fs::write(dir.join("in/ten.txt"), &seed).unwrap();
    std::fs::write(
        dir.join("in/bad.txt"),
        "企业规模 | 中型 |\n适用区域 | 火星区 |\n一、内容。\n",
    )
    .unwrap();
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
            .env_remove("DATABASE_URL")
            .args(["policy", "import"])
            .arg(dir.join("in"))
            .arg("--data-dir")
            .arg(dir.join("db"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run();
    assert_eq!(
        code,
        Some(1),
        "a bad file makes the run fail but keeps the good one"
    );
    assert!(
        stdout.contains("新增 1") && stdout.contains("错误 1"),
        "{stdout}"
    );
    assert!(stderr.contains("火星区"), "{stderr}");
    let (_, stdout, _) = run();
    assert!(
        stdout.contains("新增 0") && stdout.contains("未变 1"),
        "{stdout}"
    );
    let mut changed = seed.clone();
    changed.extend_from_slice("\n十一、补充条款。各区参照执行。（市财政局牵头）\n".as_bytes());
    std::fs::write(dir.join("in/ten.txt"), &changed).unwrap();
    let (_, stdout, _) = run();
    assert!(stdout.contains("新版本 1"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn calendar(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
        .arg("calendar")
        .args(args)
        .env_remove("ZHENGQI_HOLIDAYS")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn calendar_counts_working_days_across_holidays() {
    // 国庆 2025: 10-01..10-08 off, Saturday 10-11 worked.
    assert_eq!(
        calendar(&["add-workdays", "2025-09-30", "1"]).1,
        "2025-10-09"
    );
    assert_eq!(
        calendar(&["add-workdays", "2025-10-10", "1"]).1,
        "2025-10-11"
    );
    // 春节 2026: 02-15..02-23 off, Saturdays 02-14 and 02-28 worked.
    assert_eq!(
        calendar(&["add-workdays", "2026-02-13", "2"]).1,
        "2026-02-24"
    );
    assert_eq!(calendar(&["workdays", "2026-02-13", "2026-02-28"]).1, "6");
    assert_eq!(calendar(&["workdays", "2025-09-30", "2025-10-09"]).1, "1");
    let (code, _, err) = calendar(&["add-workdays", "2025-13-01", "1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("日期"), "{err}");
    let (code, _, err) = calendar(&["add-workdays", "2025-01-02", "0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("不小于1"), "{err}");
    let (code, _, err) = calendar(&["add-workdays", "2026-12-30", "5"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("2027"), "{err}");
}

#[test]
fn policy_list_round_trips_through_xlsx_and_updates_status() {
    let dir = std::env::temp_dir().join(format!("zq-policy-list-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let z = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
            .env_remove("DATABASE_URL")
            .args(args)
            .arg("--data-dir")
            .arg(dir.join("db"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let policies = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/policies");
    let (code, _, err) = z(&["policy", "import", policies]);
    assert_eq!(code, Some(1), "the invalid samples fail: {err}");
    let list = dir.join("list.xlsx");
    let (code, out, _) = z(&["policy", "export", list.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    // Export → import changes nothing.
    let (code, out, err) = z(&["policy", "import-list", list.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("更新 0") && out.contains("错误 0"), "{out}");
    // Staff edit the list: repeal the first policy, add an unknown one, and a bad status.
    let mut t = table::read(&std::fs::read(&list).unwrap(), Format::Xlsx).unwrap();
    let status = t.headers.iter().position(|h| h == "状态").unwrap();
    t.rows[0].cells[status] = "已废止".into();
    let mut unknown = t.rows[0].cells.clone();
    unknown[0] = "不存在的政策".into();
    unknown[1] = "珠府〔2099〕1号".into();
    let mut bad = t.rows[1].cells.clone();
    bad[status] = "作废了".into();
    let mut rows: Vec<Vec<String>> = t.rows.iter().map(|r| r.cells.clone()).collect();
    rows.push(unknown);
    rows.push(bad);
    let headers: Vec<&str> = t.headers.iter().map(String::as_str).collect();
    std::fs::write(
        &list,
        table::write_xlsx("政策清单", &headers, &rows).unwrap(),
    )
    .unwrap();
    let (code, out, err) = z(&["policy", "import-list", list.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(out.contains("更新 1") && out.contains("错误 2"), "{out}");
    assert!(
        err.contains("不存在的政策") && err.contains("作废了"),
        "{err}"
    );
    let (_, _, _) = z(&["policy", "export", list.to_str().unwrap()]);
    t = table::read(&std::fs::read(&list).unwrap(), Format::Xlsx).unwrap();
    assert_eq!(t.rows[0].cells[status], "已废止");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `catalogue export` → edit in the workbook → `catalogue import`: the
/// layout round-trips unchanged, edits land, and a file with any bad row
/// writes nothing.
#[test]
fn catalogue_export_import_round_trip() {
    let dir = TempDir::new("catalogue");
    let file = dir.path("清单.xlsx");
    let f = file.to_str().unwrap();
    let o = run_db(&dir, &["catalogue", "export", f]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("第 1 版"), "{}", o.stdout);
    let original = std::fs::read(&file).unwrap();
    let sheets = table::read_xlsx_sheets(&original).unwrap();
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["事项", "材料", "表单字段", "一件事"]);

    // Unchanged file: nothing to do, still version 1.
    let o = run_db(&dir, &["catalogue", "import", f]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("新增 0 项，修改 0 项"), "{}", o.stdout);
    assert!(o.stdout.contains("第 1 版"), "{}", o.stdout);

    let write = |sheets: &[(String, Table)]| {
        type Owned<'a> = (String, Vec<&'a str>, Vec<Vec<String>>);
        let rows: Vec<Owned<'_>> = sheets
            .iter()
            .map(|(n, t)| {
                (
                    n.clone(),
                    t.headers.iter().map(String::as_str).collect(),
                    t.rows.iter().map(|r| r.cells.clone()).collect(),
                )
            })
            .collect();
        let refs: Vec<table::Sheet<'_>> = rows
            .iter()
            .map(|(n, h, r)| (n.as_str(), h.as_slice(), r.as_slice()))
            .collect();
        std::fs::write(&file, table::write_xlsx_sheets(&refs).unwrap()).unwrap();
    };
    let name_col = sheets[0].1.column(&["事项名称"]).unwrap();
    let legal_col = sheets[0].1.column(&["法定办结时限（工作日）"]).unwrap();

    // One bad row among good edits: nothing is written.
    let mut bad = sheets.clone();
    bad[0].1.rows[0].cells[name_col] = "命令行修改的名称".into();
    bad[0].1.rows[1].cells[legal_col] = "很久".into();
    write(&bad);
    let o = run_db(&dir, &["catalogue", "import", f]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("事项 第3行") && o.stderr.contains("不是工作日数"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("未导入任何内容"), "{}", o.stderr);
    let o = run_db(
        &dir,
        &[
            "catalogue",
            "export",
            dir.path("again.xlsx").to_str().unwrap(),
        ],
    );
    assert!(o.stdout.contains("第 1 版"), "{}", o.stdout);

    // The good edit alone is imported, as version 2.
    let mut good = sheets.clone();
    good[0].1.rows[0].cells[name_col] = "命令行修改的名称".into();
    write(&good);
    let o = run_db(&dir, &["catalogue", "import", f]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("修改 1 项") && o.stdout.contains("第 2 版"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("事项 第2行  修改"), "{}", o.stdout);
    let again = dir.path("again.xlsx");
    let o = run_db(&dir, &["catalogue", "export", again.to_str().unwrap()]);
    assert_eq!(o.code, 0);
    let back = table::read_xlsx_sheets(&std::fs::read(&again).unwrap()).unwrap();
    assert_eq!(back[0].1.rows[0].cells[name_col], "命令行修改的名称");
    assert_eq!(back[1].1.rows, sheets[1].1.rows, "materials unchanged");
}

/// Seeds one accepted case with a 容缺 material straight into the test's
/// SQLite database (accepted Fri 2026-02-13: supplement due 02-25,
/// deadline 02-27 across the Spring Festival).
fn seed_case(dir: &TempDir) {
    use chrono::{TimeZone, Utc};
    use zhengqi_domain::approval::case::{Case, Event, NewPart, NewPendingMaterial, OverdueRule};
    use zhengqi_domain::calendar::WorkCalendar;
    let data = dir.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("sqlite://{}", data.join("zhengqi.db").to_string_lossy());
    let at = |m: u32, d: u32| Utc.with_ymd_and_hms(2026, m, d, 1, 0, 0).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let s = zhengqi_store::Store::connect(&url).await.unwrap();
        let cal = WorkCalendar::official();
        let a = zhengqi_store::Actor::system("测试");
        let c = Case::submit(
            "ZQCLI0001",
            "91440400192548256N",
            "YJS",
            "k",
            vec![NewPart {
                item_code: "XK-1".into(),
                department: "SZJJ".into(),
                promised_days: 5,
            }],
            vec![NewPendingMaterial {
                key: "eia".into(),
                name: "环评批复".into(),
                supplement_days: 3,
                on_overdue: OverdueRule::Suspend,
            }],
            true,
            at(2, 12),
            &cal,
        )
        .unwrap();
        s.submit_case(&c, &a).await.unwrap();
        s.apply_case_event(
            "ZQCLI0001",
            &Event::Accept {
                department: "SZJJ".into(),
            },
            &a,
            at(2, 13),
            &cal,
        )
        .await
        .unwrap();
        s.close().await;
    });
}

#[test]
fn scheduler_run_once_applies_rules_and_sends_each_reminder_once() {
    let dir = TempDir::new("sched");
    seed_case(&dir);
    let o = run_db(&dir, &["scheduler", "run-once", "--date", "2026-02-26"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("调度日期 2026-02-26"), "{}", o.stdout);
    assert!(
        o.stdout.contains("容缺材料逾期未补：环评批复（暂停办理）"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("办理时限已用80%"), "{}", o.stdout);
    assert!(o.stdout.contains("发送提醒 1 条"), "{}", o.stdout);
    // Again: nothing new.
    let o = run_db(&dir, &["scheduler", "run-once", "--date", "2026-02-26"]);
    assert_eq!(o.code, 0);
    assert!(
        o.stdout.contains("执行事件 0 项，发送提醒 0 条"),
        "{}",
        o.stdout
    );
    // Next worked day (Sat 02-28) the deadline (02-27) has passed by date,
    // but the case is suspended: its clock stopped on 02-26, nothing is overdue.
    let o = run_db(&dir, &["scheduler", "run-once", "--date", "2026-02-28"]);
    assert!(o.stdout.contains("发送提醒 0 条"), "{}", o.stdout);
    assert!(!o.stdout.contains("超期"), "{}", o.stdout);
    // Bad and future dates are refused in Chinese with exit code 2.
    let o = run_db(&dir, &["scheduler", "run-once", "--date", "2026-13-01"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("日期“2026-13-01”无效"), "{}", o.stderr);
    let o = run_db(&dir, &["scheduler", "run-once", "--date", "2099-01-01"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("晚于现在"), "{}", o.stderr);
}

/// A notice published after the build (here an illustrative 2027 entry)
/// is added with `ZHENGQI_HOLIDAYS`, without a new release; a broken file
/// stops the command with a clear message instead of counting wrongly.
#[test]
fn a_later_holiday_notice_is_added_with_zhengqi_holidays() {
    let dir = TempDir::new("holidays");
    let with = |file: Option<&str>| {
        let mut c = command();
        c.args(["calendar", "add-workdays", "2026-12-30", "3"]);
        if let Some(f) = file {
            c.env("ZHENGQI_HOLIDAYS", f);
        }
        finish(&mut c)
    };
    let o = with(None);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("2027年的节假日安排尚未载入"),
        "{}",
        o.stderr
    );

    let good = write(
        &dir,
        "2027.json",
        r#"{"2027": {"holidays": ["2027-01-01"], "workdays": []}}"#,
    );
    let o = with(Some(&good));
    assert_eq!((o.code, o.stdout.trim()), (0, "2027-01-05"), "{}", o.stderr);

    let bad = write(
        &dir,
        "bad.json",
        r#"{"2027": {"holidays": ["2026-01-01"], "workdays": []}}"#,
    );
    let o = with(Some(&bad));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("节假日文件") && o.stderr.contains("不属于 2027 年"),
        "{}",
        o.stderr
    );
    let o = with(Some(dir.path("missing.json").to_str().unwrap()));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("无法读取"), "{}", o.stderr);
}
