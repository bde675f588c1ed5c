//! Helpers the web test binaries share. Each binary uses a part of them,
//! hence the `dead_code` allowance.
#![allow(dead_code)]

/// The CSRF token in a page's form.
pub fn csrf_of(html: &str) -> String {
    const FIELD: &str = "name=\"csrf\" value=\"";
    let i = html.find(FIELD).expect("csrf field") + FIELD.len();
    html[i..].split('"').next().unwrap().to_owned()
}

/// A cookie-keeping client logged in as `user` (password `zhengqi2026`)
/// through the login page, as a browser would.
pub async fn browser(base: &str, user: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("username", user),
            ("password", "zhengqi2026"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_ne!(r.url().path(), "/login", "login as {user}");
    c
}
