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

#[test]
fn shipped_questionnaires_match_json_schema() {
    let root = env!("CARGO_MANIFEST_DIR");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/questionnaires/questionnaire.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for entry in std::fs::read_dir(format!("{root}/questionnaires")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "toml") {
            continue;
        }
        let document: serde_json::Value =
            toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn json_schema_rejects_what_the_checker_rejects() {
    let root = env!("CARGO_MANIFEST_DIR");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/questionnaires/questionnaire.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad = serde_json::json!({
        "key": "Bad Key", "version": 0, "title": "",
        "sections": [{ "id": "s", "title": "S", "questions": [{ "id": "q", "text": "Q", "type": "yes_no", "weight": 11, "colour": "red" }] }]
    });
    let count = validator.iter_errors(&bad).count();
    assert!(count >= 4, "only {count} schema errors");
}

/// Starts `portal serve` as the README describes, with no configuration but a data directory, and
/// stops it with SIGTERM.
#[cfg(unix)]
#[test]
fn serve_starts_on_defaults_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::helpers::ServeProcess::start(dir.path(), &[]);
    assert!(
        dir.path().join("data/portal.db").exists(),
        "SQLite in ./data by default"
    );
    let health = std::process::Command::new("curl")
        .args(["-s", &server.url("/healthz")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&health.stdout), "ok\n");
    let (rest, status) = server.stop();
    assert!(status.success(), "exits cleanly on SIGTERM: {status:?}");
    assert!(
        rest.iter().any(|line| line.contains("portal stopped")),
        "{rest:#?}"
    );
}

#[cfg(unix)]
#[test]
fn empty_installation_logs_setup_link() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = portal()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("PORTAL_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut setup_link = None;
    for line in lines.by_ref() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if let Some(url) = event["setup_url"].as_str() {
            setup_link = Some(url.to_owned());
        }
        if event["message"] == "portal is listening" {
            let address = event["address"].as_str().unwrap();
            let link = setup_link.expect("the setup link comes before the listening line");
            assert!(
                link.starts_with(&format!("http://{address}/setup/")),
                "{link}"
            );
            break;
        }
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    // Keep reading, so the server can write its last log lines before it exits.
    let _rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn jobs_run_due_sweeps_and_sends_once() {
    let app = crate::helpers::spawn_app_with(|config| config.run_worker = false).await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let mut settings: serde_json::Value = api
        .get("/api/v1/settings/schedule")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    settings["data"]["send_hour"] = 0.into();
    let response = api
        .put("/api/v1/settings/schedule")
        .json(&settings["data"])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let vendor: serde_json::Value = api
        .post("/api/v1/vendors")
        .json(&serde_json::json!({ "name": "Northwind EHR", "contacts": [{ "name": "Pat Contact", "email": "pat@northwind.example" }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive().to_string();
    let response = api
        .put(&format!(
            "/api/v1/vendors/{}/schedule",
            vendor["id"].as_str().unwrap()
        ))
        .json(&serde_json::json!({ "next_review_on": today, "owner_user_id": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let run = || {
        let mut command = portal();
        command
            .args(["jobs", "run-due", "--json"])
            .env("PORTAL_DATA_DIR", app.data_dir.path())
            .env_remove("DATABASE_URL");
        if let Ok(url) = std::env::var("TEST_DATABASE_URL")
            && !url.is_empty()
        {
            command.env("DATABASE_URL", app.state.config().database_url().expose());
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("one JSON object")
    };
    let first = run();
    assert_eq!(first["tenants"], 1);
    assert_eq!(first["queued"], 1, "the scheduled assessment: {first}");
    assert_eq!(
        first["done"], 2,
        "starting it and sending its invitation: {first}"
    );
    assert_eq!(first["failed"], 0);
    assert_eq!(app.outbox().len(), 1);
    let second = run();
    assert_eq!(
        (second["queued"].as_u64(), second["done"].as_u64()),
        (Some(0), Some(0)),
        "{second}"
    );
    assert_eq!(app.outbox().len(), 1, "a second run sends nothing again");
}

#[test]
fn invalid_schedule_expression_is_rejected() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = portal()
        .args(["jobs", "run-due"])
        .env("PORTAL_DATA_DIR", data_dir.path())
        .env("PORTAL_SCHEDULE", "every morning")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PORTAL_SCHEDULE \"every morning\" is not a cron expression"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"0 */15 * * * *\""),
        "the message shows the form: {stderr}"
    );
}

#[test]
fn run_due_without_database_fails() {
    let data_dir = tempfile::tempdir().unwrap();
    let mistyped = data_dir.path().join("portal-dta");
    let output = portal()
        .args(["jobs", "run-due"])
        .env("PORTAL_DATA_DIR", &mistyped)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("There is no portal database in") && stderr.contains("portal-dta"),
        "{stderr}"
    );
    assert!(!mistyped.join("portal.db").exists(), "no new database");
}
