//! Unit tests of `settings`.

use super::*;

#[test]
fn set_show_reset() {
    let mut s = Settings::default();
    assert_eq!(s.get("datestyle").unwrap(), "ISO, MDY");
    s.set("DateStyle", "iso, dmy").unwrap();
    assert_eq!(s.get("DATESTYLE").unwrap(), "ISO, DMY");
    assert_eq!(
        s.take_changes(),
        vec![("DateStyle".to_string(), "ISO, DMY".to_string())]
    );
    assert!(matches!(
        s.set("nonsense", "1"),
        Err(Error::UndefinedObject(_))
    ));
    s.set("prism.read_engines", "row").unwrap();
    assert_eq!(s.get("prism.read_engines").unwrap(), "row");
    s.reset("datestyle").unwrap();
    assert_eq!(s.get("datestyle").unwrap(), "ISO, MDY");
    assert!(s.set("server_version", "1").is_err());
    assert_eq!(parse_duration_ms("2s"), Some(2000));
}

#[test]
fn workload_settings_parse_and_are_checked() {
    let mut s = Settings::default();
    assert_eq!(s.workload(), Workload::Auto);
    assert_eq!(s.priority(), crate::admission::Priority::Medium);
    assert_eq!(s.query_memory_limit(), 0);
    s.set("prism.workload", "Analytics").unwrap();
    assert_eq!(s.get("prism.workload").unwrap(), "analytics");
    assert_eq!(s.workload(), Workload::Analytics);
    s.set("prism.priority", "HIGH").unwrap();
    assert_eq!(s.priority(), crate::admission::Priority::High);
    s.set("prism.query_memory_limit", "256MB").unwrap();
    assert_eq!(s.query_memory_limit(), 256 << 20);
    s.set("prism.analytics_min_cost", "1000").unwrap();
    assert_eq!(s.analytics_min_cost(), 1000.0);
    for (name, bad) in [
        ("prism.workload", "fast"),
        ("prism.priority", "urgent"),
        ("prism.query_memory_limit", "lots"),
        ("prism.analytics_min_cost", "-1"),
    ] {
        assert!(
            matches!(s.set(name, bad), Err(Error::InvalidParameterValue(_))),
            "{name} = {bad}"
        );
    }
    assert_eq!(parse_bytes("512kB"), Some(512 << 10));
    assert_eq!(parse_bytes("2GB"), Some(2 << 30));
    assert_eq!(parse_bytes("12"), Some(12));
    assert_eq!(parse_bytes("1XB"), None);
}

#[test]
fn startup_options_carry_command_line_settings() {
    let s = Settings::with_startup(&[
        ("application_name".into(), "app".into()),
        (
            "options".into(),
            "-c statement_timeout=5s --prism.workload=analytics -cprism.priority=low -c search_path=a\\ b".into(),
        ),
    ]);
    assert_eq!(s.get("application_name").unwrap(), "app");
    assert_eq!(s.statement_timeout_ms(), 5000);
    assert_eq!(s.workload(), Workload::Analytics);
    assert_eq!(s.priority(), crate::admission::Priority::Low);
    assert_eq!(s.get("search_path").unwrap(), "a b");
}
