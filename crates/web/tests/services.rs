//! The public service catalogue, 容缺 list and share report.

use reqwest::StatusCode;
use zhengqi_domain::approval::catalogue::Catalogue;
use zhengqi_store::ReferenceDocs;
use zhengqi_store::testing::fresh_store;
use zhengqi_web::{AppState, WebConfig, router};

async fn base() -> String {
    let store = fresh_store().await.unwrap();
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    let state = AppState::new(
        store,
        rd,
        WebConfig {
            secure_cookies: false,
            demo: false,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    format!("http://{addr}")
}

async fn get(url: String) -> (StatusCode, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn catalogue_rongque_list_and_share_report_are_public() {
    let b = base().await;
    let c = Catalogue::zhuhai();
    let (s, body) = get(format!("{b}/services")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("工业项目开工一件事") && body.contains("开办餐饮店一件事"));
    assert_eq!(
        body.matches("href=\"/services/").count() - body.matches("href=\"/services/report").count(),
        c.items.len()
    );
    let (_, only) = get(format!("{b}/services?rongque=1")).await;
    let tolerant = c.items.iter().filter(|i| i.allows_tolerance()).count();
    assert_eq!(only.matches("可容缺</span>").count(), tolerant);
    assert!(tolerant < c.items.len());

    let (s, report) = get(format!("{b}/services/report")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        report.contains("id=\"overall-share\">85.71%<"),
        "30 of 35 licence items"
    );
    assert!(report.contains("已达标"));

    let item = c.items.iter().find(|i| i.allows_tolerance()).unwrap();
    let (s, page) = get(format!("{b}/services/{}", item.code)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("容缺受理承诺书") && page.contains(&item.name));
    assert!(
        !page.contains("{期限}"),
        "the template's placeholders are filled"
    );
    assert_eq!(
        get(format!("{b}/services/NOPE")).await.0,
        StatusCode::NOT_FOUND
    );
}
