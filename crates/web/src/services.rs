//! The published service item catalogue (政务服务事项清单): every item with
//! its conditions, time limits and materials; the public 容缺 list with the
//! commitment letter per tolerated material; and the report of the share of
//! 行政许可 items that allow 容缺 (the city's target is 80%).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use zhengqi_domain::approval::catalogue::{Catalogue, ServiceItem, tolerance_report};

use crate::AppState;
use crate::error::PageError;
use crate::pages::{Layout, layout};
use crate::session::MaybePageUser;
use crate::views;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(list))
        .route("/services/report", get(report))
        .route("/services/{code}", get(detail))
}

pub struct ItemRow {
    code: String,
    name: String,
    department: String,
    kind: &'static str,
    promised_days: u32,
    legal_days: u32,
    tolerant: bool,
    tolerable: Vec<String>,
}

fn row(s: &AppState, i: &ServiceItem) -> ItemRow {
    ItemRow {
        code: i.code.clone(),
        name: i.name.clone(),
        department: views::department_name(&s.reference, &i.department),
        kind: i.kind.label(),
        promised_days: i.promised_days,
        legal_days: i.legal_days,
        tolerant: i.allows_tolerance(),
        tolerable: i.tolerable_materials().map(|m| m.name.clone()).collect(),
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    department: String,
    /// "1": only items that allow 容缺.
    #[serde(default)]
    rongque: String,
}

struct MatterRow {
    name: String,
    departments: Vec<String>,
    items: Vec<String>,
    fields: usize,
    materials: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "services.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ItemRow>,
    matters: Vec<MatterRow>,
    departments: Vec<(String, String)>,
    department: String,
    only_rongque: bool,
    /// Government roles see the editor links (export, import, new item).
    editor: bool,
    can_add: bool,
}

async fn list(
    State(s): State<AppState>,
    MaybePageUser(u): MaybePageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    s.ensure_catalogue().await.map_err(PageError::from)?;
    let catalogue = s.catalogue();
    let c: &Catalogue = &catalogue;
    let only = q.rongque == "1";
    let rows = c
        .items
        .iter()
        .filter(|i| q.department.is_empty() || i.department == q.department)
        .filter(|i| !only || i.allows_tolerance())
        .map(|i| row(&s, i))
        .collect();
    let mut depts: Vec<String> = c.items.iter().map(|i| i.department.clone()).collect();
    depts.sort();
    depts.dedup();
    let matters = c
        .combined_matters
        .iter()
        .map(|m| MatterRow {
            name: m.name.clone(),
            departments: m
                .departments(c)
                .iter()
                .map(|d| views::department_name(&s.reference, d))
                .collect(),
            items: m.service_items(c).iter().map(|i| i.name.clone()).collect(),
            fields: m.form(c).len(),
            materials: m.materials(c).len(),
        })
        .collect();
    Ok(ListPage {
        layout: layout(&s, u.as_ref(), "services"),
        rows,
        matters,
        departments: depts
            .into_iter()
            .map(|d| (d.clone(), views::department_name(&s.reference, &d)))
            .collect(),
        department: q.department,
        only_rongque: only,
        editor: u.as_ref().is_some_and(|u| u.p.can_read_catalogue_admin()),
        can_add: u.as_ref().is_some_and(|u| u.p.can_edit_catalogue()),
    }
    .into_response())
}

struct MaterialRow {
    name: String,
    form: &'static str,
    required: bool,
    tolerable: bool,
    supplement_days: Option<u32>,
    on_overdue: &'static str,
    commitment: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "service.html")]
struct DetailPage {
    layout: Layout,
    item: ItemRow,
    conditions: Vec<String>,
    fee: String,
    level: &'static str,
    materials: Vec<MaterialRow>,
    /// "编辑" for the item's department and admins, "查看编辑记录" is not
    /// offered to others.
    can_edit: bool,
    /// Government roles may open the editor read-only (maintenance record).
    can_read: bool,
}

async fn detail(
    State(s): State<AppState>,
    MaybePageUser(u): MaybePageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    s.ensure_catalogue().await?;
    let catalogue = s.catalogue();
    let i = catalogue.item(&code).ok_or_else(PageError::not_found)?;
    let materials = i
        .materials
        .iter()
        .map(|m| MaterialRow {
            name: m.name.clone(),
            form: m.form.label(),
            required: m.required,
            tolerable: m.tolerable,
            supplement_days: m.supplement_days,
            on_overdue: m.on_overdue.label(),
            commitment: m.commitment_template.clone().map(|t| {
                t.replace("{期限}", &m.supplement_days.unwrap_or(0).to_string())
                    .replace("{材料名称}", &m.name)
            }),
        })
        .collect();
    Ok(DetailPage {
        layout: layout(&s, u.as_ref(), "services"),
        conditions: i.conditions.clone(),
        fee: i
            .fee
            .map(|f| f.to_string())
            .unwrap_or_else(|| "不收费".into()),
        level: i.level.label(),
        materials,
        can_edit: u
            .as_ref()
            .is_some_and(|u| u.p.can_edit_service_item(&i.department)),
        can_read: u.as_ref().is_some_and(|u| u.p.can_read_catalogue_admin()),
        item: row(&s, i),
    }
    .into_response())
}

struct ShareRow {
    department: String,
    licence: usize,
    tolerant: usize,
    percent: String,
    meets: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "services_report.html")]
struct ReportPage {
    layout: Layout,
    overall: ShareRow,
    rows: Vec<ShareRow>,
}

async fn report(
    State(s): State<AppState>,
    MaybePageUser(u): MaybePageUser,
) -> Result<Response, PageError> {
    s.ensure_catalogue().await?;
    let r = tolerance_report(&s.catalogue());
    let share = |department: String, sh: &zhengqi_domain::approval::catalogue::Share| ShareRow {
        department,
        licence: sh.licence_items,
        tolerant: sh.tolerant_items,
        percent: sh.percent(),
        meets: sh.meets_target,
    };
    Ok(ReportPage {
        layout: layout(&s, u.as_ref(), "services"),
        overall: share("全市".into(), &r.overall),
        rows: r
            .by_department
            .iter()
            .map(|(d, sh)| share(views::department_name(&s.reference, d), sh))
            .collect(),
    }
    .into_response())
}
