use super::*;

#[test]
fn no_setup_gives_loopback_and_an_embedded_sqlite_file() {
    let s = Settings::resolve(&ServeArgs::default()).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:50051");
    assert_eq!(s.database.expose(), "sqlite:var/audit.sqlite");
    assert!(s.metrics_listen.is_none());
}

#[test]
fn flags_override_the_file_and_the_file_overrides_defaults() {
    let dir = std::env::temp_dir().join(format!("vi-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:6000\"\ndatabase = \"sqlite:/tmp/x.sqlite\"\nlog_format = \"json\"\n",
    )
    .unwrap();
    let args = ServeArgs {
        config: Some(path.clone()),
        listen: Some("127.0.0.1:7000".parse().unwrap()),
        ..ServeArgs::default()
    };
    let s = Settings::resolve(&args).unwrap();
    assert_eq!(s.listen.port(), 7000);
    assert_eq!(s.database.expose(), "sqlite:/tmp/x.sqlite");
    assert_eq!(s.log_format, LogFormat::Json);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_settings_never_show_the_database_password() {
    let args = ServeArgs {
        database: Some("postgres://app:s3cret@db/x?password=s3cret".into()),
        ..ServeArgs::default()
    };
    let s = Settings::resolve(&args).unwrap();
    assert!(!format!("{s:?}").contains("s3cret"), "{s:?}");
    assert!(s.database.expose().contains("s3cret"));
}

#[test]
fn every_number_in_the_settings_file_is_bounded_and_named_when_out_of_range() {
    let dir = std::env::temp_dir().join(format!("vi-config-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.toml");
    for (line, named) in [
        (
            "max_message_bytes = 18446744073709551615",
            "max_message_bytes",
        ),
        ("max_message_bytes = 100", "max_message_bytes"),
        (
            "commit_ttl_hours = 18446744073709551615",
            "commit_ttl_hours",
        ),
        ("commit_ttl_hours = 5124095576030432", "commit_ttl_hours"),
        ("commit_ttl_hours = 0", "commit_ttl_hours"),
        ("batch_in_flight = 100000", "batch_in_flight"),
        ("[refusals]\npeer_burst = 4294967295", "peer_burst"),
        ("[refusals]\npeer_per_second = 1e300", "peer_per_second"),
        ("[refusals]\nmax_tallies = 0", "max_tallies"),
    ] {
        std::fs::write(&path, line).unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        let err = Settings::resolve(&args).unwrap_err().to_string();
        assert!(err.contains(named), "{line}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn metrics_on_a_non_loopback_address_need_the_settings_file_to_say_so() {
    let args = ServeArgs {
        metrics_listen: Some("0.0.0.0:9100".parse().unwrap()),
        ..ServeArgs::default()
    };
    let err = Settings::resolve(&args).unwrap_err().to_string();
    assert!(err.contains("metrics_listen_public"), "{err}");
    let local = ServeArgs {
        metrics_listen: Some("127.0.0.1:9100".parse().unwrap()),
        ..ServeArgs::default()
    };
    assert!(Settings::resolve(&local).is_ok());
    let dir = std::env::temp_dir().join(format!("vi-config-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.toml");
    std::fs::write(&path, "metrics_listen_public = true\n").unwrap();
    let allowed = ServeArgs {
        config: Some(path),
        ..args
    };
    assert!(Settings::resolve(&allowed).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn callers_and_tls_are_read_from_the_file() {
    let dir = std::env::temp_dir().join(format!("vi-config-callers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.toml");
    std::fs::write(
        &path,
        "tls_cert = \"server.pem\"\ntls_key = \"server.key\"\n\
         [[callers]]\nname = \"registration-system\"\n\
         token_sha256 = \"00\"\ninsurers = [\"32130011\"]\nroles = [\"registrar\"]\n",
    )
    .unwrap();
    let args = ServeArgs {
        config: Some(path),
        ..ServeArgs::default()
    };
    let s = Settings::resolve(&args).unwrap();
    assert_eq!(s.callers[0].name, "registration-system");
    assert_eq!(s.callers[0].roles, vec![Role::Registrar]);
    assert!(s.tls.as_ref().unwrap().client_ca.is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn checkpoints_need_a_file_and_a_key_and_take_a_readable_interval() {
    let with = |file: Option<&str>, key: Option<&str>, interval: Option<&str>| {
        Settings::resolve(&ServeArgs {
            checkpoint_file: file.map(PathBuf::from),
            checkpoint_key_file: key.map(PathBuf::from),
            checkpoint_interval: interval.map(str::to_owned),
            ..ServeArgs::default()
        })
    };
    assert_eq!(with(None, None, None).unwrap().checkpoints, None);
    let on = with(Some("cp.jsonl"), Some("cp.key"), None).unwrap();
    assert_eq!(
        on.checkpoints.unwrap().interval,
        DEFAULT_CHECKPOINT_INTERVAL
    );
    for (text, secs) in [("30s", 30), ("5m", 300), ("1h 30m", 5400), ("PT2M", 120)] {
        let s = with(Some("cp.jsonl"), Some("cp.key"), Some(text)).unwrap();
        assert_eq!(s.checkpoints.unwrap().interval.as_secs(), secs, "{text}");
    }
    for text in ["0s", "500ms", "25h", "-5m", "often"] {
        let e = with(Some("cp.jsonl"), Some("cp.key"), Some(text)).unwrap_err();
        assert!(e.to_string().contains("from 1s to 24h"), "{text}: {e}");
    }
    for (file, key, interval) in [
        (Some("cp.jsonl"), None, None),
        (None, Some("cp.key"), None),
        (None, None, Some("5m")),
    ] {
        let e = with(file, key, interval).unwrap_err().to_string();
        assert!(e.contains("given together"), "{e}");
    }
}

#[test]
fn checkpoint_settings_are_read_from_the_file() {
    let dir = std::env::temp_dir().join(format!("vi-config-cp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.toml");
    std::fs::write(
        &path,
        "checkpoint_file = \"/var/log/vi/checkpoints.jsonl\"\n\
         checkpoint_key_file = \"/etc/vi/checkpoint.key\"\n\
         checkpoint_interval = \"10m\"\n",
    )
    .unwrap();
    let s = Settings::resolve(&ServeArgs {
        config: Some(path),
        ..ServeArgs::default()
    })
    .unwrap();
    assert_eq!(
        s.checkpoints,
        Some(CheckpointSettings {
            file: "/var/log/vi/checkpoints.jsonl".into(),
            key_file: "/etc/vi/checkpoint.key".into(),
            interval: Duration::from_secs(600),
        })
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn refusal_limits_have_defaults_and_are_read_and_checked_from_the_file() {
    let s = Settings::resolve(&ServeArgs::default()).unwrap();
    assert_eq!(s.refusals, RefusalLimits::default());
    let dir = std::env::temp_dir().join(format!("vi-config-refusals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.toml");
    let args = ServeArgs {
        config: Some(path.clone()),
        ..ServeArgs::default()
    };
    std::fs::write(
        &path,
        "[refusals]\ninterval_seconds = 5\npeer_burst = 100\npeer_per_second = 0.5\n",
    )
    .unwrap();
    let s = Settings::resolve(&args).unwrap();
    assert_eq!(s.refusals.interval, Duration::from_secs(5));
    assert_eq!(s.refusals.peer_burst, 100);
    assert_eq!(s.refusals.peer_per_second, 0.5);
    assert_eq!(s.refusals.max_peers, 10_000);
    std::fs::write(&path, "[refusals]\ninterval_seconds = 0\n").unwrap();
    let err = Settings::resolve(&args).unwrap_err().to_string();
    assert!(err.contains("refusals.interval_seconds"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_keyring_is_read_from_the_file_and_the_flags_replace_its_previous_keys() {
    let dir = std::env::temp_dir().join(format!("vi-config-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.toml");
    std::fs::write(
        &path,
        "hmac_key_file = \"/etc/vi/hmac-2027.key\"\n\
         hmac_previous_key_files = [\"/etc/vi/hmac-2025.key\", \"/etc/vi/hmac-2026.key\"]\n",
    )
    .unwrap();
    let from_file = Settings::resolve(&ServeArgs {
        config: Some(path.clone()),
        ..ServeArgs::default()
    })
    .unwrap();
    assert_eq!(from_file.keys.file, Some("/etc/vi/hmac-2027.key".into()));
    assert_eq!(
        from_file.keys.previous_files,
        [
            PathBuf::from("/etc/vi/hmac-2025.key"),
            "/etc/vi/hmac-2026.key".into()
        ]
    );
    let flagged = Settings::resolve(&ServeArgs {
        config: Some(path),
        keys: KeyArgs {
            hmac_previous_key_files: vec!["/tmp/old.key".into()],
            ..KeyArgs::default()
        },
        ..ServeArgs::default()
    })
    .unwrap();
    assert_eq!(flagged.keys.previous_files, [PathBuf::from("/tmp/old.key")]);
    // No key file by default: where it is depends on the database (key_adoption::key_file).
    assert_eq!(
        Settings::resolve(&ServeArgs::default()).unwrap().keys.file,
        None
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unknown_database_scheme_is_refused() {
    let args = ServeArgs {
        database: Some("mysql://x".into()),
        ..ServeArgs::default()
    };
    assert!(Settings::resolve(&args).is_err());
}
