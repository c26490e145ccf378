//! Extra steps the log-capture flow runs once live updates exist.

pub async fn exercise_logged_flow(_http: &reqwest::Client, _base: &str, _session: &str, _surgeon: &str) {}

pub fn logged_flow_secrets() -> Vec<String> {
    Vec::new()
}
