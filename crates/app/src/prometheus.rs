//! The client of a Prometheus-compatible query API that golden signals and expected outcomes
//! share: one HTTP client with [`QUERY_TIMEOUT`], and the reading of its answers.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

/// Longest wait for the metrics backend.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A Prometheus-compatible API at a base URL such as `http://prometheus:9090`.
#[derive(Clone)]
pub(crate) struct Prometheus {
    http: reqwest::Client,
    base: String,
}

impl Prometheus {
    /// A client of the API at `base` (a trailing `/` is ignored).
    pub(crate) fn new(base: &str) -> anyhow::Result<Prometheus> {
        Ok(Prometheus {
            http: reqwest::Client::builder().timeout(QUERY_TIMEOUT).build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Asks `path` (such as `/api/v1/query`) with `params`, whose `query` is the PromQL asked, and
    /// returns the answer's body. Fails on a network error, a status other than success, or an
    /// answer whose `status` is not `success`, naming the query and what Prometheus said.
    pub(crate) async fn get(&self, path: &str, params: &[(&str, &str)]) -> anyhow::Result<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).query(params).send().await?;
        let status = response.status();
        let body: Value = match response.json().await {
            Ok(body) => body,
            Err(_) if !status.is_success() => Value::Null,
            Err(err) => return Err(err.into()),
        };
        if !status.is_success() || body["status"] != "success" {
            let query = params.iter().find(|(name, _)| *name == "query").map_or("", |(_, query)| query);
            let said = body["error"].as_str().map_or_else(|| format!("HTTP {status}"), str::to_owned);
            anyhow::bail!("query {query:?} failed: {said}");
        }
        Ok(body)
    }

    /// The value of `query` at `time` by an instant query: see [`instant_value`].
    pub(crate) async fn instant(&self, query: &str, time: Timestamp) -> anyhow::Result<f64> {
        let time = format!("{}.{:03}", time.as_second(), time.subsec_millisecond().abs());
        let body = self.get("/api/v1/query", &[("query", query), ("time", &time)]).await?;
        instant_value(&body)
    }
}

/// What an instant query's answer comes to: the sum of a vector's sample values (0 for an empty
/// vector) or a scalar's value. Fails for other kinds of answer (a string, a range vector).
pub(crate) fn instant_value(body: &Value) -> anyhow::Result<f64> {
    let data = &body["data"];
    let number = |point: &Value| -> anyhow::Result<f64> {
        let text = point[1].as_str().ok_or_else(|| anyhow::anyhow!("a sample without a value"))?;
        Ok(text.parse()?)
    };
    match data["resultType"].as_str() {
        Some("vector") => {
            let samples = data["result"].as_array().map(Vec::as_slice).unwrap_or_default();
            samples.iter().map(|sample| number(&sample["value"])).sum()
        }
        Some("scalar") => number(&data["result"]),
        other => anyhow::bail!("the query gives a {}, not a number", other.unwrap_or("nothing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_answers_come_to_a_number() {
        let vector = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"a": "1"}, "value": [1700000000, "2.5"]}, {"metric": {}, "value": [1700000000.5, "4"]}]}});
        assert_eq!(instant_value(&vector).unwrap(), 6.5);
        let empty = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": []}});
        assert_eq!(instant_value(&empty).unwrap(), 0.0);
        let scalar =
            serde_json::json!({"status": "success", "data": {"resultType": "scalar", "result": [1, "7"]}});
        assert_eq!(instant_value(&scalar).unwrap(), 7.0);
        let matrix = serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": []}});
        assert!(instant_value(&matrix).is_err());
    }
}
