//! Policy library storage: versions by content hash, tasks per department.
//! Runs on SQLite, or PostgreSQL when `DATABASE_URL` is set.

use chrono::NaiveDate;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewTask, PolicyImportOutcome, PolicyRecord};

fn record(hash: &str, title: &str) -> PolicyRecord {
    PolicyRecord {
        key: "珠府办〔2022〕1号".into(),
        title: title.into(),
        title_derived: false,
        issuer: "SZFB".into(),
        doc_number: "珠府办〔2022〕1号".into(),
        published_on: NaiveDate::from_ymd_opt(2022, 4, 24),
        policy_type: "改革措施".into(),
        valid_until: None,
        sizes: vec!["中型".into(), "小型".into()],
        areas: vec!["440400".into()],
        departments: vec!["SZFB".into(), "SFGJ".into()],
        content_hash: hash.into(),
        raw_text: format!("正文 {hash}"),
        parsed: serde_json::json!({"articles": []}),
        tasks: vec![
            NewTask {
                article: 1,
                title: "再造业务流程".into(),
                lead_units: vec!["市政府办公室".into(), "市发展改革局".into()],
                departments: vec!["SZFB".into(), "SFGJ".into()],
            },
            NewTask {
                article: 2,
                title: "容缺办理".into(),
                lead_units: vec!["市政务服务数据管理局".into()],
                departments: vec!["SZSJ".into()],
            },
        ],
    }
}

#[tokio::test]
async fn versions_follow_content_and_tasks_follow_articles() {
    let s = fresh_store().await.unwrap();
    let a = Actor::system("测试");
    let id = match s
        .import_policy(&record("h1", "十条措施"), "published", &a)
        .await
        .unwrap()
    {
        PolicyImportOutcome::Created { id } => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s.import_policy(&record("h1", "十条措施"), "published", &a)
            .await
            .unwrap(),
        PolicyImportOutcome::Unchanged { id }
    );
    assert_eq!(
        s.import_policy(&record("h2", "十条措施（修订）"), "published", &a)
            .await
            .unwrap(),
        PolicyImportOutcome::NewVersion { id, version: 2 }
    );
    let p = s.policy(id).await.unwrap().unwrap();
    assert_eq!(
        (p.title.as_str(), p.current_version),
        ("十条措施（修订）", 2)
    );
    let versions = s.policy_versions(id).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(s.policy_version(id, 1).await.unwrap().unwrap().0, "正文 h1");
    let texts = s.policy_texts().await.unwrap();
    assert_eq!(texts, vec![(id, "正文 h2".to_owned())]);

    // Tasks are not duplicated by the new version; each department sees its own.
    assert_eq!(s.policy_tasks(None).await.unwrap().len(), 2);
    let fg = s.policy_tasks(Some("SFGJ")).await.unwrap();
    assert_eq!(fg.len(), 1);
    assert_eq!(fg[0].lead_units, vec!["市政府办公室", "市发展改革局"]);
    assert_eq!(s.policy_tasks(Some("SZSJ")).await.unwrap()[0].article, 2);
    assert!(s.policy_tasks(Some("SCZJ")).await.unwrap().is_empty());

    s.set_policy_status(id, "repealed", &a).await.unwrap();
    assert_eq!(s.policy(id).await.unwrap().unwrap().status, "repealed");
    assert!(s.set_policy_status(id, "bogus", &a).await.is_err());
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let mut p = s.policy(id).await.unwrap().unwrap();
    p.status = "published".into();
    p.valid_until = NaiveDate::from_ymd_opt(2025, 12, 31);
    assert_eq!(p.effective_status(today), "expired");
}
