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
