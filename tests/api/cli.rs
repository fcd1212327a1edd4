//! The `portal` binary as operators run it.

use std::process::Command;

use crate::helpers::TestDatabase;

fn portal() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portal"))
}

#[tokio::test]
async fn tenant_create_prints_json_with_working_token() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = portal();
    command
        .args([
            "tenant",
            "create",
            "--name",
            "Mercy General",
            "--admin-email",
            "admin@mercy.example.org",
            "--json",
        ])
        .env("PORTAL_DATA_DIR", data_dir.path())
        .env("PORTAL_BASE_URL", "https://portal.mercy.example.org")
        .env_remove("DATABASE_URL");
    let database = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(TestDatabase::create(&url).await),
        _ => None,
    };
    if let Some(database) = &database {
        command.env("DATABASE_URL", &database.url);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let body: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert!(body["tenant_id"].as_str().unwrap().len() == 36);
    assert!(body["api_token"].as_str().unwrap().starts_with("vrp_"));
    assert!(
        body["admin_login_url"]
            .as_str()
            .unwrap()
            .starts_with("https://portal.mercy.example.org/welcome/")
    );

    // The token works against a server on the same database.
    let app = crate::helpers::spawn_app_with(|config| {
        config.data_dir = data_dir.path().to_owned();
        if let Some(database) = &database {
            config.database_url = Some(portal::config::Secret::new(database.url.clone()));
        }
    })
    .await;
    let response = app
        .api(body["api_token"].as_str().unwrap())
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn tenant_create_rejects_invalid_email() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = portal()
        .args([
            "tenant",
            "create",
            "--name",
            "Mercy",
            "--admin-email",
            "not-an-address",
            "--json",
        ])
        .env("PORTAL_DATA_DIR", data_dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("\"not-an-address\" is not a valid e-mail address")
    );
}

#[test]
fn questionnaire_check_passes_shipped_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/questionnaires");
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    assert!(files.len() >= 2);
    let output = portal()
        .args(["questionnaire", "check"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.stdout.is_empty(), "no problems are printed");
}

#[test]
fn questionnaire_check_reports_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "key = \"bad-one\"\nversion = 1\ntitle = \"Bad\"\n\n[[sections]]\nid = \"s\"\ntitle = \"S\"\n\n[[sections.questions]]\nid = \"q1\"\ntext = \"One?\"\ntype = \"yes_no\"\ncontrols = [\"5.99\"]\n\n[[sections.questions]]\nid = \"q1\"\ntext = \"Two?\"\ntype = \"single_choice\"\noptions = [{ value = \"a\", label = \"A\", score = 2 }, { value = \"b\", label = \"B\", score = 0 }]\nshow_if = { question = \"q9\", is = [\"yes\"] }\n",
    )
    .unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "key = \"x\nversion = 1\n").unwrap();
    let output = portal()
        .args(["questionnaire", "check"])
        .arg(&bad)
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let bad_name = bad.display().to_string();
    let expected = [
        format!("{bad_name}:13: unknown control reference \"5.99\""),
        format!("{bad_name}:16: duplicate question id \"q1\" (first used on line 10)"),
        format!("{bad_name}:19: option \"a\" of question \"q1\": score 2 is outside [0, 1]"),
        format!("{bad_name}:20: show_if of question \"q1\" names unknown question \"q9\""),
        format!("{}:1:", broken.display()),
    ];
    for line in expected {
        assert!(
            stdout.lines().any(|printed| printed.starts_with(&line)),
            "missing {line:?} in:\n{stdout}"
        );
    }
}
