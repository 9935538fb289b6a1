//! Pulls the hand-written SQL of `sql/` into the extension's install script, in file order,
//! after the Rust functions it uses exist.

use pgrx::prelude::*;

extension_sql_file!(
    "../sql/01_tables.sql",
    name = "tables",
    requires = [
        normalize_path,
        normalize_object_path,
        path_parent,
        path_name,
        path_depth,
        path_lower,
        path_upper,
        resolve_path,
        path_is_valid,
        has_invisible,
        grade,
        grade_ordinal,
        grade_value,
        rating_compute,
        rating_recommendations,
        rating_components,
        ewkb_point_z,
        ewkb_parse_point,
        contribution_base_reward,
        contribution_types,
        verification_multiplier,
        verification_counts,
        trust_level,
        trust_ordinal,
        trust_multiplier,
        contribution_reward,
        verifier_reward,
        reputation_delta,
        clamp_reputation,
        token_figures,
        badges_earned,
        object_fields_jsonb,
        object_snapshot_jsonb,
        object_changes_jsonb,
        reading_window_end,
        objects_before_write,
        location_is_complete,
        location_in_range,
        shown,
        is_label
    ]
);
extension_sql_file!(
    "../sql/02_objects.sql",
    name = "objects",
    requires = ["tables"]
);
extension_sql_file!(
    "../sql/03_rating.sql",
    name = "rating",
    requires = ["objects"]
);
extension_sql_file!(
    "../sql/04_events.sql",
    name = "events",
    requires = ["rating"]
);
extension_sql_file!("../sql/05_keys.sql", name = "keys", requires = ["events"]);
extension_sql_file!("../sql/06_tree.sql", name = "tree", requires = ["keys"]);
extension_sql_file!("../sql/07_sample.sql", name = "sample", requires = ["tree"]);
extension_sql_file!(
    "../sql/08_security.sql",
    name = "security",
    requires = ["sample"]
);
extension_sql_file!(
    "../sql/09_market.sql",
    name = "market",
    requires = ["security"]
);
extension_sql_file!(
    "../sql/10_generate.sql",
    name = "generate",
    requires = ["market"]
);
extension_sql_file!("../sql/11_bi.sql", name = "bi", requires = ["generate"]);
extension_sql_file!(
    "../sql/12_webhooks.sql",
    name = "webhooks",
    requires = ["bi", webhook_new_secret]
);
extension_sql_file!(
    "../sql/13_readings.sql",
    name = "readings",
    requires = ["webhooks"]
);
extension_sql_file!(
    "../sql/14_privileges.sql",
    name = "privileges",
    requires = [
        "readings",
        seal_secret,
        open_secret,
        secret_key_id,
        reseal_secret
    ]
);
extension_sql_file!("../sql/15_backup.sql", name = "backup", finalize);
