//! The JS reads its kind lists from `pkg/src/kinds.generated.js`, which is written from the
//! registry (`edgenet_core::kinds::REGISTRY`): this test fails when the two differ, and
//! `EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js` rewrites the file.

use edgenet_core::kinds::REGISTRY;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../pkg/src/kinds.generated.js"
);

fn generated() -> String {
    let rows: Vec<String> = REGISTRY
        .iter()
        .map(|k| {
            format!(
                "  {{ name: '{}', wire: {}, needs: '{}' }},",
                k.name,
                k.kind.wire(),
                k.needs.name()
            )
        })
        .collect();
    format!(
        "// @ts-check\n\
         // Written from the Rust registry of task kinds (crates/core/src/kinds/mod.rs) by\n\
         // `EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js`; do not edit.\n\
         // `needs`: 'kernels' (the compute module runs it), 'model' (the embedding module),\n\
         // 'shard' (native holders of a collection's shard only).\n\n\
         /** @type {{ReadonlyArray<{{name: string, wire: number, needs: 'kernels' | 'model' | 'shard'}}>}} */\n\
         export const KINDS = Object.freeze([\n{}\n]);\n",
        rows.join("\n")
    )
}

#[test]
fn the_js_kind_list_is_the_registry() {
    let want = generated();
    if std::env::var_os("EDGENET_WRITE_KINDS").is_some() {
        std::fs::write(PATH, &want).unwrap();
    }
    let have = std::fs::read_to_string(PATH).unwrap_or_default();
    assert_eq!(
        have, want,
        "pkg/src/kinds.generated.js differs from the registry; rewrite it with \
         EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js"
    );
}
