use super::*;

#[test]
fn initial_cluster_parses_and_rejects_garbage() {
    let c = parse_initial_cluster("n1=127.0.0.1:7001, n2=http://127.0.0.1:7002").unwrap();
    assert_eq!(
        c,
        vec![
            ("n1".to_string(), "127.0.0.1:7001".to_string()),
            ("n2".to_string(), "127.0.0.1:7002".to_string())
        ]
    );
    assert!(parse_initial_cluster("n1").is_err());
    assert!(parse_initial_cluster("n1=a:1,n1=b:2").is_err());
    assert!(parse_initial_cluster("").is_err());
}

#[test]
fn toml_file_gives_defaults_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n2.toml");
    std::fs::write(
        &path,
        "name = \"n2\"\npeer_listen = \"127.0.0.1:7002\"\ninitial-cluster = \"n1=127.0.0.1:7001,n2=127.0.0.1:7002\"\ninitial-cluster-state = \"existing\"\nlisten = \"127.0.0.1:6000\"\n",
    )
    .unwrap();
    let flags = StartOptions {
        config: Some(path),
        listen: Some("127.0.0.1:6001".parse().unwrap()),
        ..Default::default()
    };
    let c = flags.resolve().unwrap();
    assert_eq!(c.name, "n2");
    assert_eq!(c.listen.to_string(), "127.0.0.1:6001");
    assert_eq!(c.cluster_state, ClusterState::Existing);
    assert_eq!(c.initial_cluster.len(), 2);
    assert_eq!(c.advertise_peer, "127.0.0.1:7002");
}

#[test]
fn a_member_missing_from_its_cluster_is_an_error() {
    let o = StartOptions {
        name: Some("n9".into()),
        initial_cluster: Some("n1=127.0.0.1:7001".into()),
        ..Default::default()
    };
    assert!(o.resolve().is_err());
    let o = StartOptions {
        initial_cluster_state: Some("maybe".into()),
        ..Default::default()
    };
    assert!(o.resolve().is_err());
}

#[test]
fn analytics_options_have_defaults_read_the_file_and_are_checked() {
    let c = StartOptions::default().resolve().unwrap();
    assert_eq!(c.analytics, AnalyticsOptions::default());
    assert_eq!(c.analytics.memory_bytes, 1024 << 20);
    assert_eq!(c.analytics.slice, prismdb_common::sched::MIN_SLICE);
    assert_eq!(
        c.analytics.priority,
        AnalyticsPriority::Nice(prismdb_exec::DEFAULT_NICE)
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.toml");
    std::fs::write(
        &path,
        "analytics_threads = 3\nanalytics-memory-mb = 64\nanalytics-priority = \"0\"\n\
         analytics-max-running = 5\nanalytics-max-queued = 7\nquery-threads = 2\n\
         analytics-slice-us = 0\n",
    )
    .unwrap();
    let c = StartOptions {
        config: Some(path),
        analytics_memory_mb: Some(8),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(
        c.analytics,
        AnalyticsOptions {
            threads: 3,
            interactive_threads: 2,
            memory_bytes: 8 << 20,
            priority: AnalyticsPriority::Nice(0),
            admission: prismdb_exec::AdmissionLimits {
                max_running: 5,
                max_queued: 7,
            },
            yield_every: std::time::Duration::from_micros(100),
            slice: std::time::Duration::ZERO,
        }
    );

    let c = StartOptions {
        analytics_priority: Some("Idle".into()),
        ..Default::default()
    };
    assert_eq!(
        c.resolve().unwrap().analytics.priority,
        AnalyticsPriority::Idle
    );
    let c = StartOptions {
        analytics_priority: Some("19".into()),
        ..Default::default()
    };
    assert_eq!(
        c.resolve().unwrap().analytics.priority,
        AnalyticsPriority::Nice(19)
    );

    for bad in [
        StartOptions {
            analytics_threads: Some(0),
            ..Default::default()
        },
        StartOptions {
            analytics_memory_mb: Some(0),
            ..Default::default()
        },
        StartOptions {
            analytics_priority: Some("20".into()),
            ..Default::default()
        },
        StartOptions {
            analytics_priority: Some("-1".into()),
            ..Default::default()
        },
        StartOptions {
            analytics_priority: Some("lowest".into()),
            ..Default::default()
        },
    ] {
        assert!(bad.resolve().is_err());
    }
}

#[test]
fn sql_threads_default_to_four_per_cpu_and_take_zero() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        StartOptions::default().resolve().unwrap().sql_threads,
        4 * cpus
    );
    let c = StartOptions {
        sql_threads: Some(0),
        ..Default::default()
    };
    assert_eq!(c.resolve().unwrap().sql_threads, 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prism.toml");
    std::fs::write(&path, "sql-threads = 3\n").unwrap();
    let c = StartOptions {
        config: Some(path),
        ..Default::default()
    };
    assert_eq!(c.resolve().unwrap().sql_threads, 3);
}
