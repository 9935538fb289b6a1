//! What a copy of a database must give back (backups, replicas): the rows of its tables, the
//! shell commands the docs give for making the copy, and some of the writes that fill it.

/// For each relation that `relations` lists (a query answering its name and its `relkind`),
/// by name: a table's row count and an MD5 of its rows in text form, a sequence's last value.
pub fn digests(client: &mut postgres::Client, relations: &str) -> Vec<(String, String)> {
    let relations: Vec<(String, String)> = client
        .query(relations, &[])
        .unwrap_or_else(|e| panic!("{relations}: {e}"))
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    relations
        .into_iter()
        .map(|(name, kind)| {
            let sql = if kind == "S" {
                format!("select last_value::text || ' ' || is_called::text from {name}")
            } else {
                format!(
                    "select count(*)::text || ' ' || md5(coalesce(string_agg(r::text, E'\\n' \
                     order by r::text), '')) from {name} r"
                )
            };
            let digest: String = client
                .query_one(&sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .get(0);
            (name, digest)
        })
        .collect()
}

/// The fenced ```sh block that follows `marker` (an HTML comment) in a file of docs/.
pub fn documented_commands(doc: &str, marker: &str) -> String {
    let path = format!("{}/../docs/{doc}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let after = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("docs/{doc} marks its commands with {marker}"))
        .1;
    let block = after
        .split_once("```sh\n")
        .unwrap_or_else(|| panic!("a ```sh block after {marker}"))
        .1;
    block
        .split_once("```")
        .expect("the block ends")
        .0
        .to_owned()
}

/// Registers a worker and a verifier (by these handles), and has the worker document the first
/// object of `building` and the verifier verify it: rows in the market's tables and the ledger.
pub fn verified_contribution(
    client: &mut postgres::Client,
    building: &str,
    worker: &str,
    verifier: &str,
) {
    let register = |client: &mut postgres::Client, handle: &str| -> String {
        client
            .query_one(
                "select arxos.register_contributor($1, $1)::text",
                &[&handle],
            )
            .unwrap_or_else(|e| panic!("register {handle}: {e}"))
            .get(0)
    };
    let worker = register(client, worker);
    let verifier = register(client, verifier);
    client
        .batch_execute(&format!(
            "select arxos.contribute('{building}', '{worker}', 'object_documentation', \
                                     repeat('ab', 32), '{{\"notes\": \"checked\"}}', path => p.path)
               from (select path from arxos.objects
                      where building_id = arxos.building_id('{building}') order by path limit 1) p;
             select arxos.verify_contribution(k.id, '{verifier}', 'auto_verified')
               from arxos.contributions k where k.contributor_id = '{worker}';"
        ))
        .unwrap_or_else(|e| panic!("contribute and verify: {e}"));
}
