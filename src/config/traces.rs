//! Whether and where traces are exported: `--otlp-endpoint` (`otlp_endpoint` in the settings
//! file), the sampling ratio, and the standard `OTEL_*` variables where they apply.
//!
//! Off by default. On when an endpoint is given here, or when the standard
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter
//! then reads it itself, with `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT` and `_COMPRESSION`);
//! `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off whatever else says.
//! Without a ratio here, the SDK's own `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`
//! decide (default `parentbased_always_on`).

use super::ConfigError;

/// Traces, when they are exported.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    /// The OTLP/gRPC endpoint (`http://collector:4317`); `None` leaves it to the standard
    /// `OTEL_EXPORTER_OTLP_*` variables.
    pub endpoint: Option<String>,
    /// The share of new traces kept (0.0 to 1.0), a caller's sampling decision always followed
    /// (`parentbased_traceidratio`); `None` leaves it to `OTEL_TRACES_SAMPLER`.
    pub sample_ratio: Option<f64>,
}

/// Resolves the trace settings from an endpoint and a ratio (the flag, its variable or the
/// settings file, whichever was given) and the standard variables read by `env`.
pub fn resolve(
    endpoint: Option<String>,
    ratio: Option<f64>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<TraceSettings>, ConfigError> {
    if let Some(ratio) = ratio {
        if !(0.0..=1.0).contains(&ratio) {
            return Err(ConfigError::Invalid(format!(
                "trace_sample_ratio must be 0.0..=1.0, not {ratio}"
            )));
        }
    }
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || env("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
    let endpoint = endpoint.filter(|e| !e.trim().is_empty());
    if disabled
        || (endpoint.is_none()
            && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            && !set("OTEL_EXPORTER_OTLP_ENDPOINT"))
    {
        return Ok(None);
    }
    if let Some(e) = &endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "otlp_endpoint must be an http:// or https:// URL (OTLP over gRPC, usually port \
                 4317), not {e:?}"
            )));
        }
    }
    Ok(Some(TraceSettings {
        endpoint,
        sample_ratio: ratio,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn traces_are_off_unless_an_endpoint_is_given() {
        assert_eq!(resolve(None, None, vars(&[])).unwrap(), None);
        assert_eq!(resolve(None, Some(0.5), vars(&[])).unwrap(), None);
        let on = resolve(Some("http://127.0.0.1:4317".into()), Some(0.25), vars(&[]))
            .unwrap()
            .unwrap();
        assert_eq!(on.endpoint.as_deref(), Some("http://127.0.0.1:4317"));
        assert_eq!(on.sample_ratio, Some(0.25));
    }

    #[test]
    fn the_standard_otlp_variables_turn_traces_on_and_the_sdk_switches_turn_them_off() {
        let on = resolve(
            None,
            None,
            vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(on.endpoint, None, "the exporter reads the variable itself");
        assert!(
            resolve(
                None,
                None,
                vars(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317")])
            )
            .unwrap()
            .is_some()
        );
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(
                resolve(Some("http://c:4317".into()), None, vars(&[off])).unwrap(),
                None
            );
        }
    }

    #[test]
    fn a_ratio_outside_zero_to_one_or_an_endpoint_without_scheme_is_refused() {
        let e = resolve(Some("http://c:4317".into()), Some(1.5), vars(&[])).unwrap_err();
        assert!(e.to_string().contains("trace_sample_ratio"), "{e}");
        let e = resolve(Some("collector:4317".into()), None, vars(&[])).unwrap_err();
        assert!(e.to_string().contains("otlp_endpoint"), "{e}");
    }
}
