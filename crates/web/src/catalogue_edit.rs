//! Staff maintain the service item catalogue: edit an item and its
//! materials (`/services/{code}/edit`), add one (`/services/new`), download
//! the whole catalogue as a workbook (`/services/export.xlsx`) and import an
//! edited one (`/services/import`: preview with per-row errors, then one
//! transaction). Staff edit their own department's items, admins all;
//! supervisors read; enterprises are refused. Parsing and validation are in
//! `zhengqi_domain::approval::catalogue_edit`/`catalogue_sheet`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Local;
use sha2::{Digest, Sha256};
use zhengqi_domain::approval::catalogue::ServiceItem;
use zhengqi_domain::approval::catalogue_edit::{
    CatalogueChanges, EditErrors, EditMode, FORMS, FieldRef, ItemDraft, KINDS, MaterialDraft,
    OVERDUE_RULES, apply_item,
};
use zhengqi_domain::approval::catalogue_sheet::{self, ChangeKind, ImportPlan, ImportRights};
use zhengqi_domain::auth::Principal;
use zhengqi_store::{Actor, StoreError};

use crate::AppState;
use crate::error::PageError;
use crate::pages::{Layout, layout};
use crate::session::PageUser;

/// Empty material rows offered below the existing ones.
const BLANK_ROWS: usize = 2;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services/new", get(new_page).post(new_submit))
        .route("/services/export.xlsx", get(export))
        // A catalogue workbook of a few thousand items stays well below
        // this; the confirm form carries the file again as hex.
        .route(
            "/services/import",
            get(import_page)
                .post(import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(8 << 20)),
        )
        .route(
            "/services/import/confirm",
            axum::routing::post(import_confirm)
                .layer(axum::extract::DefaultBodyLimit::max(20 << 20)),
        )
        .route("/services/{code}/edit", get(edit_page).post(edit_submit))
}

/// A fingerprint of the item as the form showed it, so a save over
/// somebody else's newer edit of the same item is refused.
fn fingerprint(item: Option<&ServiceItem>) -> String {
    let json = item
        .and_then(|i| serde_json::to_string(i).ok())
        .unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))
}

pub struct Opt {
    value: String,
    label: String,
    selected: bool,
}

fn opts<'a>(all: impl IntoIterator<Item = (&'a str, &'a str)>, current: &str) -> Vec<Opt> {
    all.into_iter()
        .map(|(v, l)| Opt {
            value: v.to_owned(),
            label: l.to_owned(),
            selected: v == current.trim(),
        })
        .collect()
}

fn yes_no_opts(current: &str) -> Vec<Opt> {
    let cur = if current.trim() == "是" {
        "是"
    } else {
        "否"
    };
    opts([("否", "否"), ("是", "是")], cur)
}

pub struct MaterialRow {
    i: usize,
    key: String,
    name: String,
    template: String,
    supplement_days: String,
    forms: Vec<Opt>,
    required: Vec<Opt>,
    tolerable: Vec<Opt>,
    overdue: Vec<Opt>,
    /// Errors per input: key, name, form, required, tolerable, template,
    /// supplement days, overdue rule.
    err: [Option<String>; 8],
}

#[derive(Default)]
pub struct ItemErrors {
    code: Option<String>,
    name: Option<String>,
    department: Option<String>,
    kind: Option<String>,
    level: Option<String>,
    conditions: Option<String>,
    legal_days: Option<String>,
    promised_days: Option<String>,
    fee: Option<String>,
    materials: Option<String>,
    fields: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "service_edit.html")]
struct EditPage {
    layout: Layout,
    creating: bool,
    readonly: bool,
    action: String,
    code: String,
    name: String,
    conditions: String,
    legal_days: String,
    promised_days: String,
    fee: String,
    departments: Vec<Opt>,
    kinds: Vec<Opt>,
    levels: Vec<Opt>,
    rows: Vec<MaterialRow>,
    e: ItemErrors,
    general: Vec<String>,
    error_count: usize,
    original: String,
    /// Saved versions of the item, newest first: (version, when, who).
    history: Vec<(i64, String, String)>,
}

fn edit_view(
    s: &AppState,
    u: &PageUser,
    draft: &ItemDraft,
    errors: &EditErrors,
    creating: bool,
    original: String,
    extra_blank: usize,
) -> EditPage {
    let readonly = if creating {
        !u.p.can_edit_catalogue()
    } else {
        // The department the item is stored under decides, not the draft.
        let stored = s
            .catalogue()
            .item(&draft.code)
            .map(|i| i.department.clone());
        !stored.is_some_and(|d| u.p.can_edit_service_item(&d))
    };
    let depts: Vec<(String, String)> = s
        .reference
        .departments
        .iter()
        .filter(|d| u.p.can_edit_service_item(&d.code) || d.code == draft.department)
        .map(|d| (d.code.clone(), d.name.clone()))
        .collect();
    let mut departments = vec![Opt {
        value: String::new(),
        label: "请选择".into(),
        selected: draft.department.trim().is_empty(),
    }];
    departments.extend(depts.iter().map(|(c, n)| Opt {
        value: c.clone(),
        label: n.clone(),
        selected: *c == draft.department.trim(),
    }));
    let kinds = opts(KINDS.iter().map(|k| (k.label(), k.label())), &draft.kind);
    let levels = opts(
        [("", "按实施部门"), ("市级", "市级"), ("区级", "区级")],
        &draft.level,
    );
    let get = |f: FieldRef| errors.get(&f.name());
    let mut rows: Vec<MaterialRow> = draft
        .materials
        .iter()
        .enumerate()
        .map(|(i, m)| material_row(i, m, &|f| get(FieldRef::Material(i, f))))
        .collect();
    let n = rows.len();
    for k in 0..(BLANK_ROWS + extra_blank) {
        let blank = MaterialDraft {
            form: "电子件".into(),
            required: "是".into(),
            ..Default::default()
        };
        rows.push(material_row(n + k, &blank, &|_| None));
    }
    let item = |f: &'static str| get(FieldRef::Item(f));
    let e = ItemErrors {
        code: item("code"),
        name: item("name"),
        department: item("department"),
        kind: item("kind"),
        level: item("level"),
        conditions: item("conditions"),
        legal_days: item("legal_days"),
        promised_days: item("promised_days"),
        fee: item("fee"),
        materials: item("materials"),
        fields: item("fields"),
    };
    let general = errors
        .0
        .iter()
        .filter(|e| e.field == FieldRef::Catalogue)
        .map(|e| e.message.clone())
        .collect();
    EditPage {
        layout: layout(s, Some(u), "services"),
        creating,
        readonly,
        action: if creating {
            "/services/new".into()
        } else {
            format!("/services/{}/edit", draft.code)
        },
        code: draft.code.clone(),
        name: draft.name.clone(),
        conditions: draft.conditions.clone(),
        legal_days: draft.legal_days.clone(),
        promised_days: draft.promised_days.clone(),
        fee: draft.fee.clone(),
        departments,
        kinds,
        levels,
        rows,
        e,
        general,
        error_count: errors.0.len(),
        original,
        history: Vec::new(),
    }
}

fn material_row(
    i: usize,
    m: &MaterialDraft,
    get: &dyn Fn(&'static str) -> Option<String>,
) -> MaterialRow {
    MaterialRow {
        i,
        key: m.key.clone(),
        name: m.name.clone(),
        template: m.commitment_template.clone(),
        supplement_days: m.supplement_days.clone(),
        forms: opts(FORMS.iter().map(|f| (f.label(), f.label())), &m.form),
        required: yes_no_opts(&m.required),
        tolerable: yes_no_opts(&m.tolerable),
        overdue: {
            let mut o = vec![Opt {
                value: String::new(),
                label: "—".into(),
                selected: m.on_overdue.trim().is_empty(),
            }];
            o.extend(opts(
                OVERDUE_RULES.iter().map(|r| (r.label(), r.label())),
                &m.on_overdue,
            ));
            o
        },
        err: [
            get("key"),
            get("name"),
            get("form"),
            get("required"),
            get("tolerable"),
            get("commitment_template"),
            get("supplement_days"),
            get("on_overdue"),
        ],
    }
}

/// The submitted form: item fields, then `m{i}.{field}` per material row
/// (rows marked `m{i}.remove` and empty rows are dropped).
struct Submitted {
    csrf: String,
    original: String,
    add_rows: bool,
    draft: ItemDraft,
}

fn read_form(form: &[(String, String)]) -> Submitted {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut rows: std::collections::BTreeMap<usize, (MaterialDraft, bool)> = Default::default();
    for (k, v) in form {
        let Some((idx, field)) = k.strip_prefix('m').and_then(|r| r.split_once('.')) else {
            continue;
        };
        let Ok(idx) = idx.parse::<usize>() else {
            continue;
        };
        // Bounded: a crafted form cannot make us allocate without limit.
        if idx >= 500 {
            continue;
        }
        let (m, removed) = rows.entry(idx).or_default();
        match field {
            "key" => m.key = v.clone(),
            "name" => m.name = v.clone(),
            "form" => m.form = v.clone(),
            "required" => m.required = v.clone(),
            "tolerable" => m.tolerable = v.clone(),
            "commitment_template" => m.commitment_template = v.clone(),
            "supplement_days" => m.supplement_days = v.clone(),
            "on_overdue" => m.on_overdue = v.clone(),
            "remove" => *removed = v == "1",
            _ => {}
        }
    }
    Submitted {
        csrf: get("csrf"),
        original: get("original"),
        add_rows: get("action") == "add_rows",
        draft: ItemDraft {
            code: get("code"),
            name: get("name"),
            department: get("department"),
            kind: get("kind"),
            level: get("level"),
            conditions: get("conditions"),
            legal_days: get("legal_days"),
            promised_days: get("promised_days"),
            fee: get("fee"),
            materials: rows
                .into_values()
                .filter(|(m, removed)| !removed && !m.is_blank())
                .map(|(m, _)| m)
                .collect(),
            fields: None,
        },
    }
}

fn unprocessable(page: EditPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

async fn edit_page(
    State(s): State<AppState>,
    u: PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    if !u.p.can_read_catalogue_admin() {
        return Err(PageError::forbidden());
    }
    s.ensure_catalogue().await?;
    let c = s.catalogue();
    let item = c.item(&code).ok_or_else(PageError::not_found)?;
    let draft = ItemDraft::from_item(item);
    let mut page = edit_view(
        &s,
        &u,
        &draft,
        &EditErrors::default(),
        false,
        fingerprint(Some(item)),
        0,
    );
    page.history = s
        .store
        .service_item_history(&code)
        .await?
        .into_iter()
        .take(20)
        .map(|v| {
            (
                v.version,
                v.changed_at
                    .with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                v.changed_by,
            )
        })
        .collect();
    Ok(page.into_response())
}

async fn new_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_edit_catalogue() {
        return Err(PageError::forbidden());
    }
    s.ensure_catalogue().await?;
    let draft = ItemDraft {
        department: u.p.department.clone().unwrap_or_default(),
        kind: "行政许可".into(),
        ..Default::default()
    };
    Ok(edit_view(
        &s,
        &u,
        &draft,
        &EditErrors::default(),
        true,
        fingerprint(None),
        0,
    )
    .into_response())
}

fn one_error(field: FieldRef, message: impl Into<String>) -> EditErrors {
    EditErrors(vec![zhengqi_domain::approval::catalogue_edit::FieldError {
        field,
        message: message.into(),
    }])
}

/// Shared by create and update: permission on the target department,
/// validation of the whole catalogue, one versioned save, swap.
async fn save(
    s: &AppState,
    u: &PageUser,
    sub: Submitted,
    mode: EditMode<'_>,
) -> Result<Response, PageError> {
    let creating = mode == EditMode::Create;
    let rerender = |errors: EditErrors, extra: usize| {
        edit_view(
            s,
            u,
            &sub.draft,
            &errors,
            creating,
            sub.original.clone(),
            extra,
        )
    };
    if sub.add_rows {
        // Only more empty rows; nothing is saved.
        return Ok(rerender(EditErrors::default(), 3).into_response());
    }
    let current = s.catalogue();
    let version = s.catalogue_version();
    let stored_item = match mode {
        EditMode::Update(code) => current.item(code),
        EditMode::Create => None,
    };
    if !creating && fingerprint(stored_item) != sub.original {
        return Ok(unprocessable(rerender(
            one_error(
                FieldRef::Catalogue,
                "该事项在您打开编辑页后已被他人修改。您填写的内容仍在下方；请在新标签页中打开编辑页查看最新内容后再保存。",
            ),
            0,
        )));
    }
    let (next, item) = match apply_item(&current, &s.reference, &sub.draft, mode) {
        Ok(v) => v,
        Err(errors) => return Ok(unprocessable(rerender(errors, 0))),
    };
    if !u.p.can_edit_service_item(&item.department) {
        return Ok(unprocessable(rerender(
            one_error(
                FieldRef::Item("department"),
                "只能选择本部门作为实施部门（跨部门调整请联系系统管理员）",
            ),
            0,
        )));
    }
    let changes = CatalogueChanges::between(&current, &next);
    match s
        .store
        .save_catalogue(version, &changes, &Actor::from(&u.p))
        .await
    {
        Ok(v) => {
            s.set_catalogue(v, next);
            Ok(Redirect::to(&format!("/services/{}", item.code)).into_response())
        }
        Err(StoreError::Conflict(m)) => {
            // Another instance or a concurrent save moved the catalogue on.
            s.reload_catalogue().await?;
            Ok(unprocessable(rerender(
                one_error(FieldRef::Catalogue, m),
                0,
            )))
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_submit(
    State(s): State<AppState>,
    u: PageUser,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let sub = read_form(&form);
    if !u.csrf_ok(&sub.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    s.ensure_catalogue().await?;
    let department = s
        .catalogue()
        .item(&code)
        .map(|i| i.department.clone())
        .ok_or_else(PageError::not_found)?;
    if !u.p.can_edit_service_item(&department) {
        return Err(PageError::forbidden());
    }
    save(&s, &u, sub, EditMode::Update(&code)).await
}

async fn new_submit(
    State(s): State<AppState>,
    u: PageUser,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let sub = read_form(&form);
    if !u.csrf_ok(&sub.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    if !u.p.can_edit_catalogue() {
        return Err(PageError::forbidden());
    }
    s.ensure_catalogue().await?;
    save(&s, &u, sub, EditMode::Create).await
}

async fn export(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_read_catalogue_admin() {
        return Err(PageError::forbidden());
    }
    s.ensure_catalogue().await?;
    let bytes = catalogue_sheet::export(&s.catalogue(), &s.reference)
        .map_err(|e| PageError::bad_request(e.to_string()))?;
    Ok(crate::pages::xlsx_response(
        bytes,
        &format!("政务服务事项清单-{}.xlsx", Local::now().format("%Y%m%d")),
    ))
}

pub struct PlanRow {
    sheet: &'static str,
    line: usize,
    code: String,
    name: String,
    change: &'static str,
    changed: bool,
}

pub struct ErrRow {
    sheet: String,
    line: String,
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "service_import.html")]
struct ImportPage {
    layout: Layout,
    can_import: bool,
    /// Set after an upload.
    planned: bool,
    error: Option<String>,
    errors: Vec<ErrRow>,
    rows: Vec<PlanRow>,
    added: usize,
    changed: usize,
    unchanged: usize,
    /// The uploaded file (hex) and the catalogue version it was checked
    /// against, for the confirm form.
    file_hex: String,
    version: i64,
    done: Option<String>,
}

fn import_view(s: &AppState, u: &PageUser) -> ImportPage {
    ImportPage {
        layout: layout(s, Some(u), "services"),
        can_import: u.p.can_edit_catalogue(),
        planned: false,
        error: None,
        errors: Vec::new(),
        rows: Vec::new(),
        added: 0,
        changed: 0,
        unchanged: 0,
        file_hex: String::new(),
        version: 0,
        done: None,
    }
}

async fn import_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_read_catalogue_admin() {
        return Err(PageError::forbidden());
    }
    Ok(import_view(&s, &u).into_response())
}

fn plan_for(s: &AppState, p: &Principal, bytes: &[u8]) -> Result<ImportPlan, String> {
    let item = |d: &str| p.can_edit_service_item(d);
    let rights = ImportRights {
        item: &item,
        matters: p.can_edit_combined_matters(),
    };
    catalogue_sheet::plan_import(bytes, &s.reference, &s.catalogue(), &rights)
        .map_err(|e| e.to_string())
}

fn planned_view(s: &AppState, u: &PageUser, plan: &ImportPlan, bytes: &[u8]) -> ImportPage {
    let mut page = import_view(s, u);
    page.planned = true;
    page.errors = plan
        .errors
        .iter()
        .map(|e| ErrRow {
            sheet: e.sheet.clone(),
            line: if e.line == 0 {
                "—".into()
            } else {
                format!("第{}行", e.line)
            },
            message: e.message.clone(),
        })
        .collect();
    page.rows = plan
        .rows
        .iter()
        .map(|r| PlanRow {
            sheet: r.sheet,
            line: r.line,
            code: r.code.clone(),
            name: r.name.clone(),
            change: r.change.label(),
            changed: r.change != ChangeKind::Unchanged,
        })
        .collect();
    page.added = plan.count(ChangeKind::Added);
    page.changed = plan.count(ChangeKind::Changed);
    page.unchanged = plan.count(ChangeKind::Unchanged);
    if plan.is_valid() {
        page.file_hex = hex::encode(bytes);
        page.version = s.catalogue_version();
    }
    page
}

/// The parts of a `multipart/form-data` body: (name, content). A small
/// parser for the one upload form, so no multipart dependency is needed.
fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    if boundary.is_empty() || boundary.len() > 200 {
        return None;
    }
    let delim = format!("\r\n--{boundary}").into_bytes();
    let mut data = b"\r\n".to_vec();
    data.extend_from_slice(body);
    let mut parts = Vec::new();
    let mut rest: &[u8] = &data;
    // Skip the preamble up to the first delimiter.
    let start = find(rest, &delim)?;
    rest = rest.get(start + delim.len()..)?;
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, &delim)?;
        let part = rest.get(..end)?;
        let split = find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(part.get(..split)?);
        let content = part.get(split + 4..)?.to_vec();
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .and_then(|l| {
                l.split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("name="))
                    .map(|n| n.trim_matches('"').to_owned())
            })?;
        parts.push((name, content));
        rest = rest.get(end + delim.len()..)?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn import_upload(
    State(s): State<AppState>,
    u: PageUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parts = multipart(ct, &body)
        .ok_or_else(|| PageError::bad_request("上传格式无效，请通过页面上的表单上传文件"))?;
    let field = |n: &str| {
        parts
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_slice())
    };
    let csrf = field("csrf")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    if !u.csrf_ok(&csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    if !u.p.can_edit_catalogue() {
        return Err(PageError::forbidden());
    }
    s.ensure_catalogue().await?;
    let file = field("file").unwrap_or_default();
    if file.is_empty() {
        let mut page = import_view(&s, &u);
        page.error = Some("请选择要导入的 xlsx 文件".into());
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    match plan_for(&s, &u.p, file) {
        Ok(plan) => {
            let status = if plan.is_valid() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok((status, planned_view(&s, &u, &plan, file)).into_response())
        }
        Err(e) => {
            let mut page = import_view(&s, &u);
            page.error = Some(format!("{e}（请上传由本系统导出的 xlsx 清单文件）"));
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
    }
}

#[derive(serde::Deserialize)]
struct ConfirmForm {
    csrf: String,
    file: String,
    version: i64,
}

async fn import_confirm(
    State(s): State<AppState>,
    u: PageUser,
    axum::Form(f): axum::Form<ConfirmForm>,
) -> Result<Response, PageError> {
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    if !u.p.can_edit_catalogue() {
        return Err(PageError::forbidden());
    }
    s.ensure_catalogue().await?;
    let bytes = hex::decode(f.file.trim())
        .map_err(|_| PageError::bad_request("导入数据无效，请重新上传文件"))?;
    if f.version != s.catalogue_version() {
        let mut page = import_view(&s, &u);
        page.error = Some("预览之后清单已被修改，请重新上传文件预览".into());
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    // Everything is checked again: the preview page is not trusted.
    let plan = plan_for(&s, &u.p, &bytes).map_err(PageError::bad_request)?;
    if !plan.is_valid() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            planned_view(&s, &u, &plan, &bytes),
        )
            .into_response());
    }
    let current = s.catalogue();
    let changes = plan.changes(&current);
    match s
        .store
        .save_catalogue(f.version, &changes, &Actor::from(&u.p))
        .await
    {
        Ok(v) => {
            s.set_catalogue(v, plan.catalogue.clone());
            let mut page = import_view(&s, &u);
            page.done = Some(format!(
                "已导入：新增 {} 项，修改 {} 项，无变化 {} 项。",
                plan.count(ChangeKind::Added),
                plan.count(ChangeKind::Changed),
                plan.count(ChangeKind::Unchanged)
            ));
            Ok(page.into_response())
        }
        Err(StoreError::Conflict(m)) => {
            s.reload_catalogue().await?;
            let mut page = import_view(&s, &u);
            page.error = Some(m);
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n\x01\r\n\x02\r\n--XyZ--\r\n";
        let parts =
            multipart("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap_or_default();
        assert_eq!(
            parts,
            vec![
                ("csrf".to_string(), b"abc".to_vec()),
                ("file".to_string(), b"\x01\r\n\x02".to_vec())
            ]
        );
        assert!(multipart("text/plain", body.as_bytes()).is_none());
        assert!(multipart("multipart/form-data; boundary=XyZ", b"garbage").is_none());
        assert!(multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nno headers").is_none());
    }

    #[test]
    fn form_rows_drop_removed_and_blank() {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let sub = read_form(&[
            f("csrf", "t"),
            f("code", "A"),
            f("m0.name", "甲"),
            f("m1.name", "乙"),
            f("m1.remove", "1"),
            f("m2.form", "电子件"),
            f("m10.name", "丙"),
            f("m999.name", "太多"),
        ]);
        let names: Vec<&str> = sub
            .draft
            .materials
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names, vec!["甲", "丙"]);
        assert_eq!(sub.csrf, "t");
        assert!(!sub.add_rows);
    }
}
