//! Starting the portal for a test: one fresh database per test (SQLite in a temporary
//! directory, or a new PostgreSQL database when `TEST_DATABASE_URL` is set), the server on port
//! 0, and HTTP clients that keep cookies.

use std::sync::Once;

use portal::clock::Clock;
use portal::config::{Config, Secret};
use portal::{AppState, Application};
use reqwest::redirect::Policy;
use tempfile::TempDir;

static TRACING: Once = Once::new();

/// Logs go to the test output only with `TEST_LOG=1`.
fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            portal::telemetry::init(portal::config::LogFormat::Text);
        }
        portal::install_crypto_provider();
    });
}

/// A PostgreSQL database created for one test and dropped after it.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create(base_url: &str) -> Self {
        use sea_orm::{ConnectionTrait, Database};
        let name = format!("portal_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(base_url)
            .await
            .expect("TEST_DATABASE_URL answers");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("can create a test database");
        admin.close().await.ok();
        let mut url = url::Url::parse(base_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self {
            admin_url: base_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use sea_orm::{ConnectionTrait, Database};
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub data_dir: TempDir,
    pub clock: Clock,
    _database: Option<TestDatabase>,
}

/// What `portal tenant create` returned for a test tenant.
pub struct TestTenant {
    pub tenant_id: String,
    pub api_token: String,
    pub admin_login_url: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client builds")
}

/// Starts the portal with the test defaults; `adjust` may change the configuration first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    init_tracing();
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config::for_data_dir(data_dir.path());
    config.bind = "127.0.0.1:0".parse().unwrap();
    let database = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let database = TestDatabase::create(&url).await;
            config.database_url = Some(Secret::new(database.url.clone()));
            Some(database)
        }
        _ => None,
    };
    if let Ok(endpoint) = std::env::var("TEST_S3_ENDPOINT") {
        // Each test gets its own bucket on the S3-compatible server.
        config.s3_endpoint = Some(endpoint.parse().expect("TEST_S3_ENDPOINT is a URL"));
        config.evidence = Some(portal::config::EvidenceLocation::S3 {
            bucket: format!(
                "portal-test-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..16]
            ),
            prefix: "evidence".to_owned(),
        });
    }
    adjust(&mut config);
    let clock = Clock::manual(chrono::Utc::now());
    let application = Application::build(config, clock.clone())
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let state = application.state().clone();
    let own_bucket = matches!(state.config().evidence_location(), portal::config::EvidenceLocation::S3 { bucket, .. } if bucket.starts_with("portal-test-") && bucket != "portal-test-unreachable");
    if let (portal::evidence::EvidenceStore::S3(store), true) = (state.evidence(), own_bucket) {
        store
            .ensure_bucket()
            .await
            .expect("the test bucket is created");
    }
    tokio::spawn(application.run_until_stopped(std::future::pending()));
    TestApp {
        address,
        state,
        data_dir,
        clock,
        _database: database,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Creates a tenant as `portal tenant create` does.
    pub async fn create_tenant(&self, name: &str, admin_email: &str) -> TestTenant {
        let created =
            portal::cli::create_tenant_in(&self.state, name, admin_email, Some("Avery Admin"))
                .await
                .expect("tenant is created");
        TestTenant {
            tenant_id: created.tenant_id.to_string(),
            api_token: created.api_token,
            admin_login_url: created.admin_login_url,
        }
    }

    /// Opens a one-time sign-in link, chooses a password and returns the signed-in client.
    pub async fn accept_link(&self, link: &str, password: &str) -> reqwest::Client {
        let client = client();
        let path = link
            .split_once("/welcome/")
            .map(|(_, secret)| format!("/welcome/{secret}"))
            .expect("welcome link");
        let page = client.get(self.url(&path)).send().await.unwrap();
        assert_eq!(page.status(), 200, "the sign-in link page opens");
        let response = client
            .post(self.url(&path))
            .form(&[
                ("name", "Avery Admin"),
                ("password", password),
                ("password_confirmation", password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            303,
            "setting the password signs in: {}",
            response.text().await.unwrap_or_default()
        );
        client
    }

    /// Creates a tenant and returns it with its administrator signed in.
    pub async fn tenant_with_admin(
        &self,
        name: &str,
        admin_email: &str,
    ) -> (TestTenant, reqwest::Client) {
        let tenant = self.create_tenant(name, admin_email).await;
        let client = self
            .accept_link(&tenant.admin_login_url, "correct horse battery staple")
            .await;
        (tenant, client)
    }

    /// Fetches a page and returns its CSRF token.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        let html = client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        csrf_from(&html).unwrap_or_else(|| panic!("no CSRF token on {path}"))
    }

    /// Returns the `.eml` files in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.data_dir.path().join("outbox");
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default();
        entries.retain(|path| path.extension().is_some_and(|extension| extension == "eml"));
        entries.sort_by_key(|path| {
            std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .ok()
        });
        entries
            .iter()
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect()
    }

    /// Returns the keys of every object in the evidence store, local or S3.
    pub async fn evidence_keys(&self) -> Vec<String> {
        self.state
            .evidence()
            .list_keys("")
            .await
            .expect("the evidence store lists its objects")
    }

    pub fn api(&self, token: &str) -> ApiClient {
        ApiClient {
            base: self.address.clone(),
            token: token.to_owned(),
            client: client(),
        }
    }
}

/// Extracts the first CSRF token from a page.
pub fn csrf_from(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A JSON API caller with a bearer token.
pub struct ApiClient {
    base: String,
    token: String,
    pub client: reqwest::Client,
}

impl ApiClient {
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .put(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
    }
}

/// Decodes the quoted-printable or plain body text of an `.eml` file enough to find a link.
pub fn link_in_email(eml: &str, prefix: &str) -> String {
    let unfolded = eml
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = unfolded
        .find(prefix)
        .unwrap_or_else(|| panic!("no link starting with {prefix} in {eml}"));
    let end = unfolded[start..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(unfolded.len(), |end| start + end);
    unfolded[start..end].to_owned()
}

/// A `portal serve` process started from the built binary, stopped with SIGTERM when dropped.
pub struct ServeProcess {
    child: std::process::Child,
    pub address: String,
    /// Log lines printed after the start, read on demand.
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
}

impl ServeProcess {
    /// Starts `portal serve --bind 127.0.0.1:0` with the given environment and waits until it
    /// logs its address.
    pub fn start(dir: &std::path::Path, env: &[(&str, String)]) -> Self {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portal"));
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "info")
            .env("PORTAL_LOG_FORMAT", "json")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("portal serve starts");
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut address = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            let event: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
            if event["message"] == "portal is listening" {
                address = Some(format!("http://{}", event["address"].as_str().unwrap()));
                break;
            }
        }
        Self {
            child,
            address: address.expect("the server reports its address"),
            lines,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Ends the process with SIGKILL, as a crash or an out-of-memory kill would, and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM, waits for the exit and returns the remaining log lines and the status.
    pub fn stop(mut self) -> (Vec<String>, std::process::ExitStatus) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let status = self.child.wait().unwrap();
        let rest = self.lines.by_ref().map_while(Result::ok).collect();
        (rest, status)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}
