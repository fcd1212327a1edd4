use chrono::TimeDelta;

use crate::helpers::{client, csrf_from, link_in_email, spawn_app};

const PASSWORD: &str = "correct horse battery staple";

/// Signs in through the form with a fresh client; returns the response and the client.
pub async fn sign_in(
    app: &crate::helpers::TestApp,
    email: &str,
    password: &str,
) -> (reqwest::Response, reqwest::Client) {
    let client = client();
    let page = client
        .get(app.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&page).unwrap();
    let response = client
        .post(app.url("/sign-in"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
            ("next", "/vendors"),
        ])
        .send()
        .await
        .unwrap();
    (response, client)
}

#[tokio::test]
async fn admin_login_url_sets_password_and_signs_in() {
    let app = spawn_app().await;
    let (_, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let home = admin.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Mercy General"));
}

#[tokio::test]
async fn admin_login_url_works_once() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    app.accept_link(&tenant.admin_login_url, PASSWORD).await;
    let path = format!(
        "/welcome/{}",
        tenant.admin_login_url.rsplit('/').next().unwrap()
    );
    let again = client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 404);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("expired or has already been used")
    );
}

#[tokio::test]
async fn opening_link_does_not_use_it_up() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let path = format!(
        "/welcome/{}",
        tenant.admin_login_url.rsplit('/').next().unwrap()
    );
    for _ in 0..3 {
        assert_eq!(
            client().get(app.url(&path)).send().await.unwrap().status(),
            200
        );
        assert_eq!(
            client().head(app.url(&path)).send().await.unwrap().status(),
            200
        );
    }
    app.accept_link(&tenant.admin_login_url, PASSWORD).await;
}

#[tokio::test]
async fn weak_password_is_rejected_with_reason() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let path = format!(
        "/welcome/{}",
        tenant.admin_login_url.rsplit('/').next().unwrap()
    );
    let response = client()
        .post(app.url(&path))
        .form(&[
            ("name", "Avery"),
            ("password", "short"),
            ("password_confirmation", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("at least 12 characters")
    );
}

#[tokio::test]
async fn sign_in_with_password_and_sign_out() {
    let app = spawn_app().await;
    app.tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let (response, client) = sign_in(&app, "ADMIN@mercy.example.org", PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/vendors");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("portal_session="))
        .expect("a session cookie is set")
        .to_owned();
    assert!(cookie.contains("portal_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(
        client
            .get(app.url("/vendors"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let csrf = app.csrf(&client, "/vendors").await;
    let signed_out = client
        .post(app.url("/sign-out"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    let after = client.get(app.url("/vendors")).send().await.unwrap();
    assert_eq!(
        after.status(),
        303,
        "signed out members are sent to sign in"
    );
    assert_eq!(after.headers()["location"], "/sign-in?next=%2Fvendors");
}

#[tokio::test]
async fn sign_in_with_wrong_password_is_rejected() {
    let app = spawn_app().await;
    app.tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let (response, client) = sign_in(&app, "admin@mercy.example.org", "wrong password here").await;
    assert_eq!(response.status(), 401);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("e-mail address or password is incorrect")
    );
    assert_eq!(
        client
            .get(app.url("/vendors"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    let (unknown, _) = sign_in(&app, "nobody@mercy.example.org", PASSWORD).await;
    assert_eq!(
        unknown.status(),
        401,
        "unknown addresses get the same answer"
    );
}

#[tokio::test]
async fn sign_in_without_csrf_cookie_is_rejected() {
    let app = spawn_app().await;
    app.tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let response = client()
        .post(app.url("/sign-in"))
        .form(&[
            ("email", "admin@mercy.example.org"),
            ("password", PASSWORD),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        !response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|cookie| cookie.to_str().unwrap().contains("portal_session="))
    );
}

#[tokio::test]
async fn account_locks_after_ten_failures_and_unlocks_later() {
    let app = spawn_app().await;
    app.tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    for _ in 0..10 {
        let (response, _) = sign_in(&app, "admin@mercy.example.org", "wrong password here").await;
        assert_eq!(response.status(), 401);
    }
    let (locked, _) = sign_in(&app, "admin@mercy.example.org", PASSWORD).await;
    assert_eq!(locked.status(), 401);
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("locked for 15 minutes")
    );

    app.clock.advance(TimeDelta::minutes(16));
    let (unlocked, _) = sign_in(&app, "admin@mercy.example.org", PASSWORD).await;
    assert_eq!(unlocked.status(), 303);
}

#[tokio::test]
async fn form_without_csrf_token_rejected() {
    let app = spawn_app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let form = [
        ("name", "Acme Imaging"),
        ("phi_access", "none"),
        ("clinical_criticality", "none"),
        ("contact_name", "Ann"),
        ("contact_email", "ann@acme.example.com"),
    ];
    let response = admin
        .post(app.url("/vendors"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );

    let mut forged = form.to_vec();
    forged.push(("csrf_token", "not-the-token"));
    let response = admin
        .post(app.url("/vendors"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    let list: serde_json::Value = app
        .api(&tenant.api_token)
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn csrf_token_of_another_session_is_rejected() {
    let app = spawn_app().await;
    let (_, first) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let (_, second_client) = sign_in(&app, "admin@mercy.example.org", PASSWORD).await;
    let first_token = app.csrf(&first, "/vendors").await;
    let second_token = app.csrf(&second_client, "/vendors").await;
    assert_ne!(first_token, second_token);
    let response = second_client
        .post(app.url("/vendors"))
        .form(&[("csrf_token", first_token.as_str()), ("name", "Acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn setup_link_creates_first_tenant_once() {
    let app = spawn_app().await;
    let secret = portal::store::setup::create(app.state.db().writer(), app.clock.now())
        .await
        .unwrap();
    let path = format!("/setup/{secret}");
    let client = client();
    assert_eq!(
        client.get(app.url(&path)).send().await.unwrap().status(),
        200
    );

    let invalid = client
        .post(app.url(&path))
        .form(&[
            ("organization", ""),
            ("name", "Sam"),
            ("email", "sam@"),
            ("password", PASSWORD),
            ("password_confirmation", "different words here"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    let body = invalid.text().await.unwrap();
    assert!(body.contains("Enter the organization"), "{body}");
    assert!(body.contains("not a valid e-mail address"), "{body}");
    assert!(body.contains("do not match"), "{body}");

    let created = client
        .post(app.url(&path))
        .form(&[
            ("organization", "St. Anne's Clinic"),
            ("name", "Sam Lee"),
            ("email", "sam@stanne.example.org"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let home = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("St. Anne&#x27;s Clinic"),
        "the apostrophe is escaped once"
    );

    let again = client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 404, "the setup link works once");
}

#[tokio::test]
async fn invited_member_gets_email_and_role() {
    let app = spawn_app().await;
    let (_, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let csrf = app.csrf(&admin, "/admin/users").await;
    let response = admin
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Renée O'Brien"),
            ("email", "renee@mercy.example.org"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Invitation sent"));

    let mail = app.outbox();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("To: "), "{}", mail[0]);
    let link = link_in_email(&mail[0], &app.url("/welcome/"));
    let viewer = app.accept_link(&link, "another long pass phrase").await;

    let csrf = app.csrf(&viewer, "/vendors").await;
    let forbidden = viewer
        .post(app.url("/vendors"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Acme"),
            ("phi_access", "none"),
            ("clinical_criticality", "none"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403, "viewers cannot add vendors");
    assert_eq!(
        viewer
            .get(app.url("/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn duplicate_invitation_is_a_field_error() {
    let app = spawn_app().await;
    let (_, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let csrf = app.csrf(&admin, "/admin/users").await;
    let response = admin
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Twin"),
            ("email", "Admin@Mercy.example.org"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("already has an account here")
    );
}

#[tokio::test]
async fn deactivated_member_loses_session() {
    let app = spawn_app().await;
    let (_, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let csrf = app.csrf(&admin, "/admin/users").await;
    admin
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Pat"),
            ("email", "pat@mercy.example.org"),
            ("role", "analyst"),
        ])
        .send()
        .await
        .unwrap();
    let link = link_in_email(&app.outbox()[0], &app.url("/welcome/"));
    let analyst = app.accept_link(&link, "analyst pass phrase one").await;
    assert_eq!(
        analyst
            .get(app.url("/vendors"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let analyst_user = portal::store::users::find_active_by_email(
        app.state.db().reader(),
        "pat@mercy.example.org",
    )
    .await
    .unwrap();
    let analyst_id = analyst_user[0].id.to_string();
    let response = admin
        .post(app.url(&format!("/admin/users/{analyst_id}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("role", "analyst"),
            ("status", "deactivated"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        analyst
            .get(app.url("/vendors"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "the session ended"
    );
    let (again, _) = sign_in(&app, "pat@mercy.example.org", "analyst pass phrase one").await;
    assert_eq!(again.status(), 401);
}

#[tokio::test]
async fn last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let (_, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let users = portal::store::users::find_active_by_email(
        app.state.db().reader(),
        "admin@mercy.example.org",
    )
    .await
    .unwrap();
    let csrf = app.csrf(&admin, "/admin/users").await;
    let response = admin
        .post(app.url(&format!("/admin/users/{}", users[0].id)))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("role", "viewer"),
            ("status", "active"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("last active administrator")
    );
}

#[tokio::test]
async fn session_expires_after_idle_time() {
    let app = spawn_app().await;
    let (_, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    app.clock.advance(TimeDelta::hours(7));
    assert_eq!(
        admin.get(app.url("/")).send().await.unwrap().status(),
        200,
        "activity extends the session"
    );
    app.clock
        .advance(TimeDelta::hours(8) + TimeDelta::minutes(1));
    assert_eq!(admin.get(app.url("/")).send().await.unwrap().status(), 303);
}

#[tokio::test]
async fn api_requires_valid_token() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let missing = client()
        .get(app.url("/api/v1/vendors"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");

    let wrong = app
        .api("vrp_not-a-real-token")
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .api(&tenant.api_token)
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn revoked_api_token_is_rejected() {
    let app = spawn_app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let csrf = app.csrf(&admin, "/admin/api-tokens").await;
    let created = admin
        .post(app.url("/admin/api-tokens"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Contract database"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let page = created.text().await.unwrap();
    let start = page.find("vrp_").unwrap();
    let secret: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert_eq!(
        app.api(&secret)
            .get("/api/v1/vendors")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let viewer_create = app
        .api(&secret)
        .post("/api/v1/vendors")
        .json(&serde_json::json!({"name": "Acme", "contacts": [{"name": "Ann", "email": "ann@acme.example.com"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        viewer_create.status(),
        403,
        "a viewer token cannot create vendors"
    );

    let tokens =
        portal::store::api_tokens::list(app.state.db().reader(), tenant.tenant_id.parse().unwrap())
            .await
            .unwrap();
    let token = tokens
        .iter()
        .find(|token| token.name == "Contract database")
        .unwrap();
    let revoked = admin
        .post(app.url(&format!("/admin/api-tokens/{}/revoke", token.id)))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        app.api(&secret)
            .get("/api/v1/vendors")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn same_address_in_two_organizations_can_choose() {
    let app = spawn_app().await;
    app.tenant_with_admin("North Clinic", "pat@shared.example.org")
        .await;
    app.tenant_with_admin("South Clinic", "pat@shared.example.org")
        .await;
    let (response, client) = sign_in(&app, "pat@shared.example.org", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("accounts in several organizations"));
    let south = page
        .split("<option value=\"")
        .skip(1)
        .find(|option| option.contains("South Clinic"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_from(&page).unwrap();
    let chosen = client
        .post(app.url("/sign-in"))
        .form(&[
            ("email", "pat@shared.example.org"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
            ("tenant_id", &south),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), 303);
    assert!(
        client
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("South Clinic")
    );
}

#[tokio::test]
async fn duplicate_organization_name_is_rejected() {
    let app = spawn_app().await;
    app.create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let error = portal::cli::create_tenant_in(
        &app.state,
        " mercy general ",
        "other@mercy.example.org",
        None,
    )
    .await
    .err()
    .unwrap();
    assert!(error.to_string().contains("already exists"), "{error}");
}

#[tokio::test]
async fn blank_password_is_rejected() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let path = format!(
        "/welcome/{}",
        tenant.admin_login_url.rsplit('/').next().unwrap()
    );
    let spaces = " ".repeat(16);
    let response = client()
        .post(app.url(&path))
        .form(&[
            ("name", "Avery"),
            ("password", spaces.as_str()),
            ("password_confirmation", spaces.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("not spaces"));
}
