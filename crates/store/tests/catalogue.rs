//! Catalogue storage: seeding once, versioned edits with a compare-and-set
//! on the base version, audit entries and item history. Runs on SQLite, or
//! PostgreSQL when `DATABASE_URL` is set.

use zhengqi_domain::approval::catalogue::Catalogue;
use zhengqi_domain::approval::catalogue_edit::{CatalogueChanges, EditMode, ItemDraft, apply_item};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, AuditFilter, StoreError};

#[tokio::test]
async fn seeded_once_and_read_back_unchanged() {
    let s = fresh_store().await.unwrap();
    assert!(s.catalogue().await.unwrap().is_none());
    let seed = Catalogue::zhuhai();
    let a = Actor::system("测试");
    let stored = s.catalogue_or_seed(&seed, &a).await.unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.catalogue, seed);
    // A second seed (another instance starting) changes nothing.
    assert!(!s.seed_catalogue(&seed, &a).await.unwrap());
    let (entries, n) = s
        .audit_entries(&AuditFilter {
            action: Some("catalogue.seed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(n, 1, "{entries:?}");
    assert_eq!(
        s.service_item_history(&seed.items[0].code)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn edits_are_versioned_audited_and_conflicts_refused() {
    let s = fresh_store().await.unwrap();
    let r = ReferenceData::zhuhai();
    let a = Actor::system("测试");
    let base = s.catalogue_or_seed(&Catalogue::zhuhai(), &a).await.unwrap();
    let item = base.catalogue.items[2].clone();

    let mut d = ItemDraft::from_item(&item);
    d.name = format!("{}（已修订）", item.name);
    let (next, edited) = apply_item(&base.catalogue, &r, &d, EditMode::Update(&item.code)).unwrap();
    let changes = CatalogueChanges::between(&base.catalogue, &next);
    let v2 = s.save_catalogue(base.version, &changes, &a).await.unwrap();
    assert_eq!(v2, 2);
    let now = s.catalogue().await.unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.catalogue, next, "order and content kept");
    assert_eq!(now.catalogue.item(&item.code), Some(&edited));

    // An edit computed from the old version is refused and writes nothing.
    let mut d = ItemDraft::from_item(&item);
    d.name = format!("{}（另一修订）", item.name);
    let (stale, _) = apply_item(&base.catalogue, &r, &d, EditMode::Update(&item.code)).unwrap();
    let err = s
        .save_catalogue(
            base.version,
            &CatalogueChanges::between(&base.catalogue, &stale),
            &a,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("已被他人修改")),
        "{err}"
    );
    assert_eq!(s.catalogue().await.unwrap().unwrap(), now);

    // A new item goes to the end; no-op saves write nothing.
    let mut d = ItemDraft::from_item(&item);
    d.code = "XK-440400-9001".into();
    d.name = "新增测试事项".into();
    let (next3, _) = apply_item(&now.catalogue, &r, &d, EditMode::Create).unwrap();
    let v3 = s
        .save_catalogue(2, &CatalogueChanges::between(&now.catalogue, &next3), &a)
        .await
        .unwrap();
    assert_eq!(v3, 3);
    assert_eq!(
        s.save_catalogue(3, &CatalogueChanges::default(), &a)
            .await
            .unwrap(),
        3
    );
    let latest = s.catalogue().await.unwrap().unwrap();
    assert_eq!(
        latest.catalogue.items.last().map(|i| i.code.as_str()),
        Some("XK-440400-9001")
    );
    assert_eq!(latest.catalogue, next3);

    let (entries, _) = s
        .audit_entries(&AuditFilter {
            target_type: Some("service_item".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["catalogue.item.create", "catalogue.item.update"]
    );
    let upd = &entries[1];
    assert_eq!(upd.target_id, item.code);
    assert_eq!(
        upd.before.as_ref().and_then(|b| b["name"].as_str()),
        Some(item.name.as_str())
    );
    assert!(
        upd.after
            .as_ref()
            .and_then(|b| b["name"].as_str())
            .is_some_and(|n| n.ends_with("（已修订）"))
    );
    let hist = s.service_item_history(&item.code).await.unwrap();
    assert_eq!(
        hist.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(hist[1].item, item);
}

#[tokio::test]
async fn concurrent_edits_on_one_base_one_wins() {
    let s = fresh_store().await.unwrap();
    let r = ReferenceData::zhuhai();
    let a = Actor::system("测试");
    let base = s.catalogue_or_seed(&Catalogue::zhuhai(), &a).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..4 {
        let s = s.clone();
        let a = a.clone();
        let item = base.catalogue.items[n].clone();
        let mut d = ItemDraft::from_item(&item);
        d.name = format!("{}-{n}", item.name);
        let (next, _) = apply_item(&base.catalogue, &r, &d, EditMode::Update(&item.code)).unwrap();
        let ch = CatalogueChanges::between(&base.catalogue, &next);
        let v = base.version;
        tasks.push(tokio::spawn(
            async move { s.save_catalogue(v, &ch, &a).await },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(v) => {
                ok += 1;
                assert_eq!(v, 2);
            }
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(s.catalogue().await.unwrap().unwrap().version, 2);
}
