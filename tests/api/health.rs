use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_returns_ok() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn responses_carry_request_id_and_security_headers() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/sign-in")).await.unwrap();
    let headers = response.headers();
    assert!(headers.get("x-request-id").is_some());
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn unknown_paths_return_404() {
    let app = spawn_app().await;
    let page = reqwest::get(app.url("/no-such-page")).await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("Page not found"));
    let api = reqwest::get(app.url("/api/v1/no-such-thing"))
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn static_stylesheet_is_served() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/static/portal.css")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}
