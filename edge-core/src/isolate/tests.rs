//! The isolate's state: built only when the environment fits, initial values, its edits.

use super::*;
use crate::config::COORDINATOR;
use cdn_manifest::index::encode_sharded;
use cdn_manifest::Manifest;

fn root() -> Root {
    let (root, _) = encode_sharded(&Manifest::new("/assets/"));
    Root::from_bytes(&root).unwrap()
}

fn config(extra: &str) -> Config {
    Config::from_json(&format!(
        r#"{{"origin_auth":false,"routes":[{{"pools":["p"]}}],
            "pools":{{"p":{{"origins":[{{"url":"http://o1:8080"}}]}}}}{extra}}}"#
    ))
    .unwrap()
}

type Test = Isolate<Vec<u8>, ()>;

#[test]
fn built_with_the_secrets_and_a_slot_per_shard() {
    let secrets = Secrets {
        cookie_key: b"c".to_vec(),
        health_token: Some("t".into()),
        ..Secrets::default()
    };
    let i = Test::new(config(""), secrets, root(), true).unwrap();
    assert_eq!(i.cookie_key, b"c");
    assert_eq!(i.health_token.as_deref(), Some("t"));
    assert_eq!(i.origin_urls, ["http://o1:8080"]);
    assert_eq!(i.shards.borrow().len(), i.root.shard_count());
    assert!(i.pools.borrow().contains_key("p"));
    assert_eq!(i.coord.borrow().1, 0);
}

#[test]
fn an_environment_that_does_not_fit_is_refused_naming_what_is_missing() {
    let cfg = config("");
    assert!(cfg.needs_coordinator());
    assert!(Test::new(cfg.clone(), Secrets::default(), root(), true).is_ok());
    let err = Test::new(cfg, Secrets::default(), root(), false).unwrap_err();
    assert!(err.to_string().contains(COORDINATOR), "{err}");
    let other_path = Config::from_json(
        r#"{"origin_auth":false,"public_path":"/static/","routes":[{"pools":["p"]}],
            "pools":{"p":{"origins":[{"url":"http://o1:8080"}]}}}"#,
    )
    .unwrap();
    let err = Test::new(other_path, Secrets::default(), root(), true).unwrap_err();
    assert!(err.to_string().contains("public_path"), "{err}");
}

#[test]
fn a_purge_here_makes_copies_stored_before_it_stale() {
    let i = Test::new(config(""), Secrets::default(), root(), true).unwrap();
    i.purge_here(&["a".into(), "b".into()], 5);
    let coord = i.coord.borrow();
    assert!(coord.0.purges.purged(&["b".into()], 4));
    assert!(
        !coord.0.purges.purged(&["b".into()], 6),
        "stored after the purge"
    );
    assert!(!coord.0.purges.purged(&["c".into()], 4), "another tag");
}

#[test]
fn adopting_a_snapshot_keeps_local_purges() {
    let i = Test::new(config(""), Secrets::default(), root(), true).unwrap();
    i.purge_here(&["local".into()], 5);
    let mut snap = Snapshot {
        now_ms: 9,
        ..Snapshot::default()
    };
    snap.purges.purge(["remote"], 7);
    i.adopt(snap);
    let coord = i.coord.borrow();
    assert_eq!(coord.0.now_ms, 9);
    assert!(coord.0.purges.purged(&["local".into()], 4));
    assert!(coord.0.purges.purged(&["remote".into()], 6));
}

#[test]
fn client_edits_hide_the_origin_and_add_the_cookies() {
    let i = Test::new(config(""), Secrets::default(), root(), true).unwrap();
    let present = |n: &str| n == "server" || i.cache_fields.iter().any(|f| f == n);
    let get = |n: &str| match n {
        "location" => Some("http://o1:8080/next".to_string()),
        n if present(n) => Some("x".to_string()),
        _ => None,
    };
    let edits = i.client_edits(get, "https://shop.test", &["a=1".into()]);
    assert!(edits.remove.iter().any(|n| n == "server"));
    assert!(!i.cache_fields.is_empty());
    assert!(i
        .cache_fields
        .iter()
        .all(|f| edits.remove.iter().any(|n| n == f)));
    assert!(
        edits.remove.iter().all(|n| present(n)),
        "only names present are removed: {:?}",
        edits.remove
    );
    assert_eq!(
        edits.set,
        [("location", "https://shop.test/next".to_string())]
    );
    assert_eq!(edits.append, [("set-cookie", "a=1".to_string())]);
}

#[test]
fn request_log_lines_are_batched_as_configured_and_failures_go_at_once() {
    let i = Test::new(
        config(r#","log_batch":2,"log_flush_ms":300"#),
        Secrets::default(),
        root(),
        true,
    )
    .unwrap();
    assert_eq!(i.log_request("ok-1", 200, false), None);
    assert_eq!(i.log.borrow_mut().arm(), Some(300));
    assert_eq!(
        i.log_request("ok-2", 404, false).as_deref(),
        Some("ok-1\nok-2")
    );
    assert_eq!(
        i.log_request("bad", 502, false).as_deref(),
        Some("bad"),
        "a 5xx"
    );
    let edge = i.log_request("edge", 200, true);
    assert_eq!(edge.as_deref(), Some("edge"), "the edge's own answer");
    // The defaults: 32 lines, 1 s.
    let d = Test::new(config(""), Secrets::default(), root(), true).unwrap();
    assert_eq!(d.log_request("x", 200, false), None);
    assert_eq!(d.log.borrow_mut().arm(), Some(1000));
    assert_eq!(d.log.borrow().held(), 1);
}
